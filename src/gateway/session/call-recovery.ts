/**
 * Rebuilding a ringing call this gateway never saw (issue 14: the other node of an HA pair
 * announced it, then died). A callee's LOOK_UP names the callee (l_name) and the caller as the
 * callee was told (r_name); the caller's own talk daemon still holds the caller's invitation
 * (LEAVE_INVITE: l_name = caller, r_name = the callee as the caller named him). Asking it with a
 * LOOK_UP (talkd's find_match: invitation.l_name == r_name, invitation.r_name == l_name) gives the
 * caller's rendezvous address, and the call can be opened afresh. Pure helpers; the session core
 * drives the exchange.
 */
import type { GatewayConfig } from '../../config/gateway-config.js';
import type { CallRouter } from './call-router.js';
import type { AnyRequest, Ingress, Side } from './session-types.js';

/** Names tried at the caller's daemon for one rebuilt call (each is one LOOK_UP there). */
export const MAX_RECOVERY_NAMES = 3;
/** Rebuilds in progress at once (each waits for one daemon answer): bounded state. */
export const MAX_PENDING_RECOVERIES = 64;

/** A callee's LOOK_UP waiting while the caller's daemon is asked. */
export interface PendingRecovery {
  readonly key: string;
  readonly ingress: Ingress;
  readonly req: AnyRequest;
  /** The caller: its side, login, host (as routed) and address. */
  readonly callerSide: Side;
  readonly callerUser: string;
  readonly callerHost: string;
  readonly callerAddress: string;
  /** Names the caller may have used for the callee, tried in order. */
  readonly names: readonly string[];
  next: number;
}

export function recoveryKey(ingress: Ingress, lName: string, rName: string): string {
  return `${ingress.side}|${ingress.source.address}|${lName}|${rName}`;
}

/**
 * The names under which the caller may have called `calleeUser` at `calleeAddress` through this
 * gateway: the directory logins that lead to exactly that user and address (first), then
 * `user%host` for an outside table host. Empty when nothing in the configuration leads there —
 * then the callee is not one this gateway would ever have rung, and nothing is rebuilt.
 */
export function recoveryNames(config: GatewayConfig, router: CallRouter, calleeSide: Side, calleeUser: string, calleeAddress: string): string[] {
  const names: string[] = [];
  for (const [login, target] of config.directory) {
    if (target.user !== calleeUser) continue;
    if (router.resolveStatic(calleeSide, target.host) !== calleeAddress) continue;
    names.push(login);
  }
  if (calleeSide === 'outside') {
    for (const [host, address] of config.outside.hosts) if (address === calleeAddress) names.push(`${calleeUser}%${host}`);
  }
  return [...new Set(names)].slice(0, MAX_RECOVERY_NAMES);
}
