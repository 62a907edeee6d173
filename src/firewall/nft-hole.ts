/**
 * Pure rendering of one hole (a call's pinhole or a PCP mapping) as ONE atomic `nft -j` batch.
 *
 * Opening uses `create`, so an element that already exists (port clash, same peer twice) fails
 * the whole batch and nothing is applied: a clean refusal (shared/reference/middlebox.md §3).
 * Closing is idempotent and atomic: `add` (a no-op if present, recreates a consumed one-shot
 * element) then `delete` of every element of the hole.
 */
import { nftComment } from './nft-comment.js';
import { nftNames, type NftBatch, type NftCommand, type NftTableSpec } from './nft-ruleset.js';

export type HoleProtocol = 'tcp' | 'udp';

export interface HoleSpec {
  /** Call id / mapping id; carried in every element's comment. */
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly protocol: HoleProtocol;
  /** The one outside peer allowed (IPv4), or null for any peer (inbound only). */
  readonly peer: string | null;
  /** Outbound holes: the peer's port. */
  readonly peerPort?: number;
  /** The inside host and port. */
  readonly internalAddress: string;
  readonly internalPort: number;
  /** Inbound: the external port DNATed to the internal one, or null for a routed pinhole. */
  readonly externalPort: number | null;
  /** nft JSON timeouts are integer seconds. */
  readonly timeoutSeconds: number;
  /** Inbound with a peer: consumed by the first packet of the first flow (a call's hole). */
  readonly oneShot: boolean;
  /** conntrack mark for a one-shot hole's flow (non-zero), to delete the flow at call end. */
  readonly mark: number;
}

interface Element {
  readonly set: string;
  readonly key: unknown[];
  readonly value?: unknown;
}

/** The elements a hole consists of, or a reason it cannot be rendered. */
export function holeElements(spec: NftTableSpec, hole: HoleSpec): Element[] {
  const n = nftNames(spec);
  const { protocol: proto, internalAddress: ia, internalPort: ip } = hole;
  if (hole.direction === 'outbound') {
    if (hole.peer === null || hole.peerPort === undefined) throw new RangeError('outbound hole needs peer and peerPort');
    const key = [ia, hole.peer, proto, hole.peerPort];
    if (!hole.oneShot) return [{ set: n.out4, key }];
    // A call's outbound hole: consumed by the first flow, whose conntrack entry gets the mark.
    if (!(hole.mark > 0 && hole.mark <= 0xffff_ffff)) throw new RangeError('a one-shot hole needs a non-zero 32-bit mark');
    return [
      { set: n.pinout4, key },
      { set: n.callmark4, key, value: hole.mark },
    ];
  }
  const els: Element[] = [];
  if (hole.peer === null) {
    if (hole.oneShot) throw new RangeError('a one-shot hole needs a peer');
    els.push({ set: n.anyin4, key: [ia, proto, ip] });
    if (hole.externalPort !== null) {
      els.push({ set: n.dnatany4addr, key: [proto, hole.externalPort], value: ia });
      els.push({ set: n.dnatany4port, key: [proto, hole.externalPort], value: ip });
    }
    return els;
  }
  if (hole.oneShot) {
    if (!(hole.mark > 0 && hole.mark <= 0xffff_ffff)) throw new RangeError('a one-shot hole needs a non-zero 32-bit mark');
    els.push({ set: n.pin4, key: [hole.peer, ia, proto, ip] });
    els.push({ set: n.callmark4, key: [hole.peer, ia, proto, ip], value: hole.mark });
  } else {
    els.push({ set: n.open4, key: [hole.peer, ia, proto, ip] });
  }
  if (hole.externalPort !== null) {
    els.push({ set: n.dnat4addr, key: [hole.peer, proto, hole.externalPort], value: ia });
    els.push({ set: n.dnat4port, key: [hole.peer, proto, hole.externalPort], value: ip });
  }
  return els;
}

function elementCommand(spec: NftTableSpec, el: Element, hole: HoleSpec, withMeta: boolean): NftCommand {
  const comment = nftComment(hole.id);
  const inner: Record<string, unknown> = { val: { concat: el.key } };
  if (withMeta) {
    inner['timeout'] = Math.max(1, Math.ceil(hole.timeoutSeconds));
    inner['comment'] = comment;
  }
  const e = { elem: inner };
  return {
    element: { family: spec.family, table: spec.table, name: el.set, elem: [el.value === undefined ? e : [e, el.value]] },
  };
}

/** One atomic batch that creates every element of the hole; fails whole if any exists. */
export function renderOpenHole(spec: NftTableSpec, hole: HoleSpec): NftBatch {
  return { nftables: holeElements(spec, hole).map((el) => ({ create: elementCommand(spec, el, hole, true) })) };
}

/** One atomic, idempotent batch that removes every element of the hole. */
export function renderCloseHole(spec: NftTableSpec, hole: HoleSpec): NftBatch {
  const els = holeElements(spec, hole);
  return {
    nftables: [
      ...els.map((el) => ({ add: elementCommand(spec, el, hole, true) })),
      ...els.map((el) => ({ delete: elementCommand(spec, el, hole, false) })),
    ],
  };
}

/**
 * Refreshing a still-unused hole's timeout (a call re-announced): delete + add of every element in
 * one batch. A one-shot element already consumed makes the delete fail (ENOENT) and with it the
 * whole batch, so a used hole is never re-opened.
 */
export function renderRefreshHole(spec: NftTableSpec, hole: HoleSpec): NftBatch {
  const els = holeElements(spec, hole);
  return {
    nftables: [
      ...els.map((el) => ({ delete: elementCommand(spec, el, hole, false) })),
      ...els.map((el) => ({ add: elementCommand(spec, el, hole, true) })),
    ],
  };
}
