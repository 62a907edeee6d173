/**
 * Fair shares of the gateway's call table (issue 18). Without them the table belongs to whoever
 * fills it first: 80 ANNOUNCEs from one address at 15/s, under the per-source rate, took all 64
 * `max_calls` slots and rang the callee 64 times. A new call is admitted only when
 *   - the table has room (`max_calls`),
 *   - the free slots left after it still cover what the other side is owed of its reserve
 *     (`side_reserve`: each side can always reach that share of the table, whatever the other does),
 *   - its caller address holds fewer than `calls_per_source` live calls,
 *   - an outside caller's network (`network_prefix` bits) holds fewer than `calls_per_network`,
 *   - its callee is rung by fewer than `pending_per_callee` distinct pending calls.
 * A caller address has at most one pending call per callee: the core treats a second ANNOUNCE for
 * a callee that address already rings as a repeat of that call ({@link CallTableShares.pendingCall}),
 * never as a new ring. Pure bookkeeping: no clock, no I/O; the core adds, settles and removes calls.
 */
import { ipv4ToInt } from '../../shared/ipv4-cidr.js';
import type { Side } from './session-types.js';

/** Why a new call was refused a slot (typed code; {@link SHARE_REFUSAL_MESSAGES} has the text). */
export type ShareRefusal = 'table_full' | 'side_share' | 'source_share' | 'network_share' | 'callee_pending';

/** Human messages beside the codes, for logs. */
export const SHARE_REFUSAL_MESSAGES: Readonly<Record<ShareRefusal, string>> = {
  table_full: 'the call table is full (limits.max_calls)',
  side_share: "this side's callers hold all but the other side's reserve (limits.side_reserve)",
  source_share: 'the caller address holds its share of calls (limits.calls_per_source)',
  network_share: "the caller's outside network holds its share of calls (limits.calls_per_network, limits.network_prefix)",
  callee_pending: 'the callee is already rung by its share of pending calls (limits.pending_per_callee)',
};

export interface ShareLimits {
  readonly maxCalls: number;
  readonly callsPerSource: number;
  readonly callsPerNetwork: number;
  readonly networkPrefix: number;
  readonly pendingPerCallee: number;
  /** 0 … 0.5 of maxCalls. */
  readonly sideReserve: number;
}

/** What the shares know of a call. */
export interface ShareClaim {
  /** The caller's side (whose share the call uses). */
  readonly side: Side;
  /** The caller's source address. */
  readonly source: string;
  /** Identity of the callee (side, user, host), or undefined when the call has no route (it will be refused). */
  readonly callee: string | undefined;
}

interface Entry extends ShareClaim {
  readonly network: string | undefined;
  pending: boolean;
}

export class CallTableShares {
  #limits: ShareLimits;
  readonly #entries = new Map<string, Entry>();
  readonly #bySide: Record<Side, number> = { inside: 0, outside: 0 };
  readonly #bySource = new Map<string, number>();
  readonly #byNetwork = new Map<string, number>();
  readonly #pendingByCallee = new Map<string, number>();
  /** `${source}|${callee}` → the pending call from that address to that callee. */
  readonly #pendingPair = new Map<string, string>();

  constructor(limits: ShareLimits) {
    this.#limits = limits;
  }

  /** New limits (SIGHUP): live calls keep their slots; the next admissions use the new bounds. */
  reconfigure(limits: ShareLimits): void {
    this.#limits = limits;
  }

  /** The pending call from `source` to `callee`, if one rings (or is about to). */
  pendingCall(source: string, callee: string): string | undefined {
    return this.#pendingPair.get(pairKey(source, callee));
  }

  /** Whether a new call may take a slot: undefined when it may, else why not. */
  admit(claim: ShareClaim): ShareRefusal | undefined {
    const l = this.#limits;
    if (this.#entries.size >= l.maxCalls) return 'table_full';
    // After this call, the free slots must still cover what the other side is owed of its reserve.
    const other: Side = claim.side === 'inside' ? 'outside' : 'inside';
    const owed = Math.max(0, Math.ceil(l.sideReserve * l.maxCalls) - this.#bySide[other]);
    if (this.#entries.size + 1 + owed > l.maxCalls) return 'side_share';
    if ((this.#bySource.get(claim.source) ?? 0) >= l.callsPerSource) return 'source_share';
    const network = this.#networkOf(claim);
    if (network !== undefined && (this.#byNetwork.get(network) ?? 0) >= l.callsPerNetwork) return 'network_share';
    if (claim.callee !== undefined && (this.#pendingByCallee.get(claim.callee) ?? 0) >= l.pendingPerCallee) return 'callee_pending';
    return undefined;
  }

  /** Records an admitted call (pending until {@link settle}). */
  add(callId: string, claim: ShareClaim): void {
    if (this.#entries.has(callId)) return;
    const e: Entry = { ...claim, network: this.#networkOf(claim), pending: true };
    this.#entries.set(callId, e);
    this.#bySide[e.side] += 1;
    bump(this.#bySource, e.source, 1);
    if (e.network !== undefined) bump(this.#byNetwork, e.network, 1);
    if (e.callee !== undefined) {
      bump(this.#pendingByCallee, e.callee, 1);
      const pk = pairKey(e.source, e.callee);
      if (!this.#pendingPair.has(pk)) this.#pendingPair.set(pk, callId);
    }
  }

  /** The call connected: it keeps its slot but no longer rings its callee. */
  settle(callId: string): void {
    const e = this.#entries.get(callId);
    if (e === undefined || !e.pending) return;
    this.#unpend(callId, e);
  }

  /** The call ended: its slot is free. */
  remove(callId: string): void {
    const e = this.#entries.get(callId);
    if (e === undefined) return;
    if (e.pending) this.#unpend(callId, e);
    this.#entries.delete(callId);
    this.#bySide[e.side] -= 1;
    bump(this.#bySource, e.source, -1);
    if (e.network !== undefined) bump(this.#byNetwork, e.network, -1);
  }

  get size(): number {
    return this.#entries.size;
  }

  #unpend(callId: string, e: Entry): void {
    e.pending = false;
    if (e.callee === undefined) return;
    bump(this.#pendingByCallee, e.callee, -1);
    const pk = pairKey(e.source, e.callee);
    if (this.#pendingPair.get(pk) === callId) this.#pendingPair.delete(pk);
  }

  /** The network an outside caller is counted in; inside callers are counted per address only. */
  #networkOf(claim: ShareClaim): string | undefined {
    if (claim.side !== 'outside') return undefined;
    const n = ipv4ToInt(claim.source);
    if (n === undefined) return undefined;
    const p = this.#limits.networkPrefix;
    const mask = p === 0 ? 0 : (0xffff_ffff << (32 - p)) >>> 0;
    return `${(n & mask) >>> 0}/${p}`;
  }
}

function pairKey(source: string, callee: string): string {
  return `${source}|${callee}`;
}

function bump(m: Map<string, number>, k: string, by: number): void {
  const v = (m.get(k) ?? 0) + by;
  if (v <= 0) m.delete(k);
  else m.set(k, v);
}
