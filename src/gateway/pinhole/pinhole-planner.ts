/**
 * The pure hole planner of the pinhole mode: for one {@link DataPathRequest} of the session core,
 * the exact nftables transaction (one atomic `nft -j` batch) that opens what the call needs, the
 * address the rewritten announcement must carry, and the batch that removes it again.
 *
 * - The callee is outside (an outbound call): the outside peer connects in. A DNAT element maps
 *   (peer, tcp, gateway outside address : chosen port) to the inside caller's TCP listener; the
 *   one-shot `pin4` element + `callmark4` let exactly that peer's first flow (and its SYN
 *   retransmits, by conntrack mark) through. Announced: the gateway's outside address and the port.
 * - The callee is inside (an inbound call): the inside user connects out to the caller's real
 *   address (masqueraded). A one-shot `pinout4` element + `callmark4` open exactly that flow even
 *   when outbound forwarding is closed. Announced: the outside caller's own rendezvous address.
 * Every element carries the call id as comment and expires with the invitation (the timeout).
 */
import { renderCloseHole, renderOpenHole, renderRefreshHole, type HoleSpec } from '../../firewall/nft-hole.js';
import { nftNames, type NftBatch, type NftTableSpec } from '../../firewall/nft-ruleset.js';
import type { DataPathRequest, Endpoint } from '../session/session-types.js';
import { MARK_EPOCH_BITS, MARK_SEQ_BITS } from './pinhole-constants.js';

export interface HolePlan {
  readonly callId: string;
  readonly hole: HoleSpec;
  /** The rendezvous address the core announces (and gives the callee on LOOK_UP). */
  readonly announce: Endpoint;
  /** The one-shot set (pin4 / pinout4) whose element disappears when the flow takes the hole. */
  readonly oneShotSet: string;
  /** The one-shot element's key, as `nft -j list set` prints it. */
  readonly oneShotKey: readonly (string | number)[];
  readonly open: NftBatch;
  readonly close: NftBatch;
  /** Restarts every element's timeout; fails whole (nothing changes) once the hole was used. */
  readonly refresh: NftBatch;
}

export interface PlanOptions {
  /** External port for an inbound DNAT hole (ignored when the callee is inside). */
  readonly externalPort: number;
  readonly mark: number;
  readonly timeoutSeconds: number;
}

/** Does this request need an external port (a DNAT hole)? */
export function needsExternalPort(req: DataPathRequest): boolean {
  return req.listenSide === 'outside';
}

/** Plans the hole of one call. Throws RangeError on an impossible request (a bug, not a peer's doing). */
export function planHole(spec: NftTableSpec, req: DataPathRequest, opts: PlanOptions): HolePlan {
  const n = nftNames(spec);
  let hole: HoleSpec;
  let announce: Endpoint;
  let oneShotSet: string;
  let oneShotKey: (string | number)[];
  if (req.listenSide === 'outside') {
    hole = {
      id: req.callId,
      direction: 'inbound',
      protocol: 'tcp',
      peer: req.expectedPeer,
      internalAddress: req.target.address,
      internalPort: req.target.port,
      externalPort: opts.externalPort,
      timeoutSeconds: opts.timeoutSeconds,
      oneShot: true,
      mark: opts.mark,
    };
    announce = { address: req.listenAddress, port: opts.externalPort };
    oneShotSet = n.pin4;
    oneShotKey = [req.expectedPeer, req.target.address, 'tcp', req.target.port];
  } else {
    hole = {
      id: req.callId,
      direction: 'outbound',
      protocol: 'tcp',
      peer: req.target.address,
      peerPort: req.target.port,
      internalAddress: req.expectedPeer,
      internalPort: 0,
      externalPort: null,
      timeoutSeconds: opts.timeoutSeconds,
      oneShot: true,
      mark: opts.mark,
    };
    announce = { address: req.target.address, port: req.target.port };
    oneShotSet = n.pinout4;
    oneShotKey = [req.expectedPeer, req.target.address, 'tcp', req.target.port];
  }
  return { callId: req.callId, hole, announce, oneShotSet, oneShotKey, open: renderOpenHole(spec, hole), close: renderCloseHole(spec, hole), refresh: renderRefreshHole(spec, hole) };
}

/**
 * The conntrack mark of a call: the call id's sequence number (c-000042 → 42) in the low
 * MARK_SEQ_BITS, the process epoch above it. Never 0 (0 means "no hole taken").
 */
export function callMark(callId: string, epoch: number): number {
  const seq = Number(/(\d+)$/.exec(callId)?.[1] ?? NaN);
  if (!Number.isInteger(seq) || seq < 1 || seq >= 2 ** MARK_SEQ_BITS) throw new RangeError(`call id ${callId} has no sequence number for a mark`);
  const e = epoch & (2 ** MARK_EPOCH_BITS - 1);
  return ((e * 2 ** MARK_SEQ_BITS) + seq) >>> 0;
}

/** A bounded pool of external ports: random start, linear probe; O(range) worst case. */
export class PortPool {
  readonly #min: number;
  readonly #max: number;
  readonly #used = new Set<number>();

  constructor(range: { readonly min: number; readonly max: number }) {
    if (!(Number.isInteger(range.min) && Number.isInteger(range.max) && range.min >= 1 && range.max <= 65_535 && range.min <= range.max)) {
      throw new RangeError(`bad port range ${range.min}-${range.max}`);
    }
    this.#min = range.min;
    this.#max = range.max;
  }

  get size(): number {
    return this.#max - this.#min + 1;
  }
  get inUse(): number {
    return this.#used.size;
  }

  /** A free port (marked used), skipping `avoid`, or undefined when none is left. `random` in [0, 1). */
  take(random: number, avoid: ReadonlySet<number> = new Set()): number | undefined {
    const size = this.size;
    const start = Math.min(size - 1, Math.floor(random * size));
    for (let i = 0; i < size; i++) {
      const p = this.#min + ((start + i) % size);
      if (!this.#used.has(p) && !avoid.has(p)) {
        this.#used.add(p);
        return p;
      }
    }
    return undefined;
  }

  release(port: number): void {
    this.#used.delete(port);
  }
}

/** One conntrack flow as `conntrack -L` prints it (only what the pinhole mode needs). */
export interface ConntrackFlow {
  readonly state: string;
  readonly mark: number;
  /** Original and reply direction byte counters (present with nf_conntrack_acct=1). */
  readonly bytes: readonly [number, number] | undefined;
}

/** Parses `conntrack -L -p tcp` output lines (pure; unknown lines are skipped). */
export function parseConntrackFlows(text: string): ConntrackFlow[] {
  const out: ConntrackFlow[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'tcp' || f.length < 5) continue;
    const mark = /(?:^|\s)mark=(\d+)/.exec(line);
    if (mark === null) continue;
    const bytes = [...line.matchAll(/(?:^|\s)bytes=(\d+)/g)].map((m) => Number(m[1]));
    out.push({
      state: f[3] ?? '',
      mark: Number(mark[1]),
      bytes: bytes.length >= 2 ? [bytes[0] as number, bytes[1] as number] : undefined,
    });
  }
  return out;
}

/** TCP conntrack states in which a conversation is still being set up or carried. */
export const LIVE_TCP_STATES: ReadonlySet<string> = new Set(['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'SYN_SENT2']);
