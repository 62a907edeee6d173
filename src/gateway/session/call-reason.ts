/**
 * Why a call was refused or ended: a closed set of stable codes, each with its message. The code
 * goes into the audit record (`code`), the metrics labels and the log lines; the message (and a
 * detail naming what the peer asked for, sanitised) stays beside it for people.
 */
export const CALL_REASONS = {
  // refused before anyone is rung
  'bad-addr': "the caller's rendezvous address is not its own AF_INET address",
  'bad-name': 'a malformed user%host name',
  'host-names-off': 'inside host names are not allowed (inside.allow_host_names)',
  'no-directory-entry': 'no directory entry for the callee',
  'unknown-host': "the callee's host cannot be resolved on its side",
  'wrong-side': "the callee's host resolves to an address not on its side",
  'resolve-timeout': 'name resolution timed out',
  'policy-denied': 'denied by a policy rule',
  'default-deny': 'no policy rule matched (default deny)',
  'no-data-path': 'no data path could be opened (relay port, hole or mapping)',
  'daemon-silent': "the callee's talk daemon did not answer",
  'peer-unauthenticated': 'the peer gateway failed TLS authentication (certificate, name, fingerprint or address)',
  'peer-unreachable': 'the TLS link to the peer gateway could not be opened',
  // the callee's daemon answered
  'callee-not-here': 'the callee is not logged in',
  'callee-refusing': 'the callee refuses messages (mesg n)',
  'callee-failed': "the callee's daemon could not ring",
  // ended
  'caller-cancelled': 'the caller hung up before an answer',
  'stale-invitation': 'the callee reported a stale invitation',
  'invitation-expired': 'nobody answered before the invitation expired',
  'conversation-ended': 'the conversation ended',
  'data-path-ended': 'the data path closed before the conversation began',
  'ended-by-admin': 'an administrator ended the call',
} as const;

export type CallReason = keyof typeof CALL_REASONS;

/**
 * The outcome a finished call is counted under (talkgate_calls_total{outcome}): what an
 * administrator asks "how did the calls go" in, one step coarser than the reason.
 */
export type CallOutcome = 'conversation' | 'not-here' | 'callee-refusing' | 'denied-by-policy' | 'refused' | 'failed' | 'unanswered' | 'cancelled' | 'ended-by-admin';

export function callOutcome(code: string): CallOutcome {
  switch (code) {
    case 'conversation-ended':
      return 'conversation';
    case 'callee-not-here':
      return 'not-here';
    case 'callee-refusing':
      return 'callee-refusing';
    case 'policy-denied':
    case 'default-deny':
      return 'denied-by-policy';
    case 'invitation-expired':
      return 'unanswered';
    case 'caller-cancelled':
    case 'stale-invitation':
      return 'cancelled';
    case 'ended-by-admin':
      return 'ended-by-admin';
    case 'callee-failed':
    case 'daemon-silent':
    case 'no-data-path':
    case 'peer-unreachable':
    case 'data-path-ended':
    case 'resolve-timeout':
      return 'failed';
    default:
      return 'refused';
  }
}
