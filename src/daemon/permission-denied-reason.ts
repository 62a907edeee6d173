/**
 * Why talkd answered PERMISSION_DENIED, as a typed code for the log (issue 13: an administrator
 * must see whether the callee ran `mesg n` or the daemon cannot open the tty, e.g. EACCES because
 * devpts is not mounted with the tty group).
 */

export type PermissionDeniedReason =
  /** Every matching tty has its group-write bit off (`mesg n`). */
  | 'mesg-n'
  /** /dev/<line> is not a character device. */
  | 'not-a-tty'
  /** open(2) of the tty failed; the errno code goes beside it in the log line. */
  | 'tty-open-failed';

/** A human message beside each code (the code, not this text, is the key). */
export const PERMISSION_DENIED_MESSAGES: Readonly<Record<PermissionDeniedReason, string>> = {
  'mesg-n': 'the callee refuses messages (mesg n: the tty has no group-write bit)',
  'not-a-tty': 'the utmp line is not a character device',
  'tty-open-failed':
    'the daemon cannot open the tty (check that it runs with the tty group and devpts is mounted gid=5,mode=620)',
};
