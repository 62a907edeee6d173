/**
 * talkd request processing (netkit/BSD process.c) as a pure function: a decoded request, its
 * packet source and a context go in; the response and the effects (a tty announcement, log
 * events) come out. The caller sends the response to the packet source, never to ctl_addr.
 *
 * Validation, in the order of OpenBSD process_request() plus netkit's local-only LEAVE_INVITE:
 * vers ≠ 1 → BADVERSION; addr family ≠ AF_INET → BADADDR; ctl_addr family ≠ AF_INET → BADCTLADDR
 * (ntalk only: otalk families are consumed by byte-order detection); LEAVE_INVITE from a
 * non-local source → MACHINE_UNKNOWN, with a non-local addr → BADADDR; unknown type →
 * UNKNOWN_REQUEST. otalk has answers 0–5 only, so 6–8 are sent to otalk peers as FAILED.
 */
import { AF_INET, TALK_VERSION } from '../protocol/constants.js';
import { Answer, NO_ADDR, RequestType, type CtlMsg, type SockAddrIn } from '../protocol/talk-types.js';
import type { Clock } from '../shared/clock.js';
import { renderAnnouncement } from './announcement.js';
import type { InsertOutcome, InvitationTable, ReplacedReason } from './invitation-table.js';
import type { PermissionDeniedReason } from './permission-denied-reason.js';
import type { UserLookup } from './user-lookup.js';

export type TalkFlavour = 'ntalk' | 'otalk';

/** A decoded request; `version` is present for ntalk. */
export type DaemonRequest = CtlMsg & { readonly version?: number };

/** The flavour-neutral response; the service encodes it for ntalk or otalk. */
export interface DaemonResponse {
  readonly type: number;
  readonly answer: number;
  readonly id: number;
  readonly addr: SockAddrIn;
}

/** Write `text` to /dev/`tty`; the response's answer must become the outcome of that write. */
export interface AnnounceEffect {
  readonly tty: string;
  readonly text: Uint8Array;
}

/** Noteworthy things for the log (the service adds the request id). */
export type DaemonEvent =
  | { readonly event: 'table-full'; readonly capacity: number }
  | { readonly event: 'invitation-stored'; readonly id: number }
  | { readonly event: 'invitation-replaced'; readonly id: number; readonly reason: ReplacedReason; readonly source: string }
  | { readonly event: 'caller-name-unusable' }
  | { readonly event: 'permission-denied'; readonly reason: PermissionDeniedReason }
  | { readonly event: 're-announce'; readonly id: number }
  | { readonly event: 'duplicate'; readonly id: number }
  | { readonly event: 'ctl-addr-differs'; readonly ctlAddr: string }
  | { readonly event: 'leave-invite-not-local'; readonly field: 'source' | 'addr' };

export interface ProcessResult {
  readonly response: DaemonResponse;
  readonly announce?: AnnounceEffect;
  readonly events: readonly DaemonEvent[];
}

export interface RequestContext {
  readonly flavour: TalkFlavour;
  readonly table: InvitationTable;
  readonly clock: Clock;
  /** True for loopback and addresses of this host's interfaces. */
  isLocalAddress(address: string): boolean;
  /** For ANNOUNCE: the utmp lookup of (r_name, r_tty), done by the adapter beforehand. */
  readonly user?: UserLookup;
  /** For ANNOUNCE: the caller's host (FCrDNS name of the source, else its IP). */
  readonly callerHost?: string;
  /** gethostname() of the daemon, shown in the announcement. */
  readonly daemonHost: string;
}

/** Highest answer code otalk defines (UNKNOWN_REQUEST). */
const OTALK_MAX_ANSWER = Answer.UNKNOWN_REQUEST;

export function processRequest(
  request: DaemonRequest,
  source: { readonly address: string; readonly port: number },
  ctx: RequestContext,
): ProcessResult {
  const events: DaemonEvent[] = [];
  const result = decide(request, source, ctx, events);
  if (ctx.flavour === 'otalk' && result.response.answer > OTALK_MAX_ANSWER) {
    return { ...result, response: { ...result.response, answer: Answer.FAILED } };
  }
  return result;
}

function answer(request: DaemonRequest, code: number, events: DaemonEvent[], id = 0): ProcessResult {
  return { response: { type: request.type, answer: code, id, addr: NO_ADDR }, events };
}

function decide(
  request: DaemonRequest,
  source: { readonly address: string; readonly port: number },
  ctx: RequestContext,
  events: DaemonEvent[],
): ProcessResult {
  if (ctx.flavour === 'ntalk') {
    if (request.version !== TALK_VERSION) return answer(request, Answer.BADVERSION, events);
    if (request.addr.family !== AF_INET) return answer(request, Answer.BADADDR, events);
    if (request.ctlAddr.family !== AF_INET) return answer(request, Answer.BADCTLADDR, events);
  }
  if (request.ctlAddr.address !== source.address || request.ctlAddr.port !== source.port) {
    events.push({ event: 'ctl-addr-differs', ctlAddr: `${request.ctlAddr.address}:${request.ctlAddr.port}` });
  }
  const table = ctx.table;
  switch (request.type) {
    case RequestType.LEAVE_INVITE: {
      if (!ctx.isLocalAddress(source.address)) {
        events.push({ event: 'leave-invite-not-local', field: 'source' });
        return answer(request, Answer.MACHINE_UNKNOWN, events);
      }
      if (!ctx.isLocalAddress(request.addr.address)) {
        events.push({ event: 'leave-invite-not-local', field: 'addr' });
        return answer(request, Answer.BADADDR, events);
      }
      const existing = table.findRequest(request);
      if (existing !== undefined) return answer(request, Answer.SUCCESS, events, existing.id);
      const entry = stored(table.insert(request, source.address), table, events);
      if (entry === undefined) return answer(request, Answer.FAILED, events);
      return answer(request, Answer.SUCCESS, events, entry.id);
    }
    case RequestType.LOOK_UP: {
      const match = table.findMatch(request.lName, request.rName);
      if (match === undefined) return answer(request, Answer.NOT_HERE, events);
      return {
        response: { type: request.type, answer: Answer.SUCCESS, id: match.id, addr: { ...match.addr, family: AF_INET } },
        events,
      };
    }
    case RequestType.DELETE:
      return answer(request, table.deleteById(request.id) ? Answer.SUCCESS : Answer.NOT_HERE, events);
    case RequestType.ANNOUNCE:
      return announce(request, source.address, ctx, events);
    default:
      return answer(request, Answer.UNKNOWN_REQUEST, events);
  }
}

/** The table's insert outcome as events; the stored entry, or undefined when the table is full. */
function stored(outcome: InsertOutcome, table: InvitationTable, events: DaemonEvent[]): { readonly id: number } | undefined {
  if (outcome.kind === 'full') {
    events.push({ event: 'table-full', capacity: table.capacity });
    return undefined;
  }
  const { entry, replaced } = outcome;
  if (replaced !== undefined) {
    events.push({ event: 'invitation-replaced', id: replaced.entry.id, reason: replaced.reason, source: replaced.entry.source });
  }
  events.push({ event: 'invitation-stored', id: entry.id });
  return entry;
}

/** Lowest and highest printable, non-blank ASCII byte: a caller name needs at least one. */
const FIRST_VISIBLE = 0x21;
const LAST_VISIBLE = 0x7e;

/**
 * A caller name (l_name) worth announcing: it has at least one visible ASCII character. An empty
 * or blank/unprintable-only name would be announced as "requested by @host" (or as a row of
 * `?`), naming nobody the callee could answer.
 */
export function isUsableCallerName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= FIRST_VISIBLE && c <= LAST_VISIBLE) return true;
  }
  return false;
}

/** netkit process.c do_announce(): find the user, then insert, re-announce or ignore a duplicate. */
function announce(request: DaemonRequest, source: string, ctx: RequestContext, events: DaemonEvent[]): ProcessResult {
  if (!isUsableCallerName(request.lName)) {
    // The protocol has no BADREQUEST. FAILED is the closest real answer and the classic one:
    // OpenBSD and FreeBSD process_request() answer FAILED for an l_name with a non-printable
    // byte ("illegal user name"), the same class of malformed-but-decodable request; it exists
    // in otalk too (answers 0-5), and BADADDR/BADCTLADDR/BADVERSION would blame the wrong field.
    events.push({ event: 'caller-name-unusable' });
    return answer(request, Answer.FAILED, events);
  }
  const user = ctx.user ?? { kind: 'failed' as const };
  switch (user.kind) {
    case 'not-here':
      return answer(request, Answer.NOT_HERE, events);
    case 'permission-denied':
      events.push({ event: 'permission-denied', reason: user.reason });
      return answer(request, Answer.PERMISSION_DENIED, events);
    case 'failed':
      return answer(request, Answer.FAILED, events);
    case 'found':
      break;
  }
  const table = ctx.table;
  const text = (): Uint8Array => {
    const now = new Date(ctx.clock.wallNow());
    return renderAnnouncement({
      daemonHost: ctx.daemonHost,
      callerName: request.lName,
      callerHost: ctx.callerHost ?? '?',
      hour: now.getHours(),
      minute: now.getMinutes(),
    });
  };
  const existing = table.findRequest(request);
  if (existing === undefined) {
    const entry = stored(table.insert(request, source), table, events);
    if (entry === undefined) return answer(request, Answer.FAILED, events);
    return { ...answer(request, Answer.SUCCESS, events, entry.id), announce: { tty: user.tty, text: text() } };
  }
  // Both ids are u32 (netkit/4.4BSD), so a retransmitted first ANNOUNCE (0xFFFFFFFF) rings again.
  if (request.id >>> 0 > existing.id >>> 0) {
    const id = table.renew(existing);
    events.push({ event: 're-announce', id });
    return { ...answer(request, Answer.SUCCESS, events, id), announce: { tty: user.tty, text: text() } };
  }
  events.push({ event: 'duplicate', id: existing.id });
  return answer(request, Answer.SUCCESS, events, existing.id);
}
