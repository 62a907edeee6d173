/**
 * Naming: where a call is headed and how the caller is named to the callee. The classical mode
 * implements it with the directory and `user%host` names ({@link ClassicalRouter}); the
 * transparent mode will route by the intercepted original destination instead.
 */
import type { CallReason } from './call-reason.js';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { Answer } from '../../protocol/talk-types.js';
import { isIPv4 } from '../../protocol/wire.js';
import type { Direction, Ingress, Side } from './session-types.js';

export type RouteResult =
  | { readonly ok: true; readonly calleeSide: Side; readonly user: string; readonly host: string }
  | { readonly ok: false; readonly answer: number; readonly code: CallReason; readonly reason: string };

export interface CallRouter {
  /** Where an ANNOUNCE for `rName` arriving on `ingress` is headed. */
  routeAnnounce(ingress: Ingress, rName: string): RouteResult;
  /**
   * The l_name the callee's daemon is given for the caller: at most `maxLen` characters.
   * `intercepted`: the call was intercepted (transparent mode), the callee answers the real caller.
   */
  presentCaller(q: { direction: Direction; lName: string; callerAddress: string; maxLen: number; intercepted?: boolean }): string;
  /** An address for `host` in `side`'s name context: a literal or table entry, 'ask' (use the resolver), or undefined. */
  resolveStatic(side: Side, host: string): string | 'ask' | undefined;
  /** A name for `address` in the outside name context, if the static table has one. */
  outsideNameOf(address: string): string | undefined;
}

/** Separator of `user%host` in a talk name (issue 4, the classic "percent hack"). */
export const ROUTE_SEPARATOR = '%';

/** Classical proxy naming (RFC 1919 §3): clients address the gateway and name the final party. */
export class ClassicalRouter implements CallRouter {
  readonly #config: GatewayConfig;
  readonly #reverseOutside: Map<string, string>;

  constructor(config: GatewayConfig) {
    this.#config = config;
    this.#reverseOutside = new Map();
    // A peer gateway is known by its configured name first (issue 15: `bob%gw2`, `alice%gw1`).
    for (const p of config.peering?.peers ?? []) this.#reverseOutside.set(p.address, p.name);
    for (const [name, ip] of config.outside.hosts) if (!this.#reverseOutside.has(ip)) this.#reverseOutside.set(ip, name);
  }

  routeAnnounce(ingress: Ingress, rName: string): RouteResult {
    const calleeSide: Side = ingress.side === 'inside' ? 'outside' : 'inside';
    if (ingress.originalDestination !== undefined) {
      // Intercepted (transparent mode): the caller addressed the callee's daemon itself.
      if (rName === '' || rName.includes(ROUTE_SEPARATOR)) return { ok: false, answer: Answer.NOT_HERE, code: 'bad-name', reason: 'malformed name in an intercepted call' };
      return { ok: true, calleeSide, user: rName, host: ingress.originalDestination.address };
    }
    const pct = rName.indexOf(ROUTE_SEPARATOR);
    if (pct >= 0) {
      const user = rName.slice(0, pct);
      const host = rName.slice(pct + 1).toLowerCase();
      if (user === '' || host === '') return { ok: false, answer: Answer.NOT_HERE, code: 'bad-name', reason: 'malformed user%host name' };
      if (calleeSide === 'inside' && !this.#config.inside.allowHostNames) {
        return { ok: false, answer: Answer.NOT_HERE, code: 'host-names-off', reason: 'inside host names are not allowed (inside.allow_host_names)' };
      }
      return { ok: true, calleeSide, user, host };
    }
    const entry = this.#config.directory.get(rName);
    if (entry === undefined) return { ok: false, answer: Answer.NOT_HERE, code: 'no-directory-entry', reason: 'no directory entry' };
    return { ok: true, calleeSide, user: entry.user, host: entry.host };
  }

  presentCaller(q: { direction: Direction; lName: string; callerAddress: string; maxLen: number; intercepted?: boolean }): string {
    const user = q.lName.slice(0, q.maxLen);
    // Outbound: the callee answers `talk alice@<gateway>`, so the bare name routes back.
    // Intercepted inbound: the announcement names the real caller, who is answered directly.
    if (q.direction === 'outbound' || q.intercepted === true) return user;
    // Inbound: carry the route back (`bob%rc-out`) when the caller's host has a short name that fits.
    const host = this.#reverseOutside.get(q.callerAddress);
    if (host !== undefined) {
      const routed = `${q.lName}${ROUTE_SEPARATOR}${host}`;
      if (routed.length <= q.maxLen) return routed;
    }
    return user;
  }

  resolveStatic(side: Side, host: string): string | 'ask' | undefined {
    if (isIPv4(host)) return host;
    const table = side === 'inside' ? this.#config.inside.hosts : this.#config.outside.hosts;
    const hit = table.get(host.toLowerCase());
    if (hit !== undefined) return hit;
    const peer = side === 'outside' ? this.#config.peering?.peers.find((p) => p.name === host.toLowerCase()) : undefined;
    if (peer !== undefined) return peer.address;
    if (side === 'outside' && this.#config.outside.dns) return 'ask';
    return undefined;
  }

  outsideNameOf(address: string): string | undefined {
    return this.#reverseOutside.get(address);
  }
}
