/**
 * The privileged middlebox's check of each mapping operation its worker asks for (pure): an
 * inbound DNAT mapping of one of our external ports (the configured range) to a host inside the
 * inside networks, its filter peer (if any) never an inside address, its lifetime within the
 * configured maximum, its label printable. The table is never the worker's to name.
 */
import { z } from 'zod';
import type { HoleSpec } from '../../firewall/nft-hole.js';
import { NFT_COMMENT_MAX } from '../../firewall/nft-comment.js';
import { inNetwork, type FirewallOp, type MiddleboxConfig } from '../middlebox-core.js';
import { isIpv4 } from '../pcp-address.js';

/** Operations in one request (a PCP request yields one or two). */
export const MAX_OPS_PER_REQUEST = 16;

/** Why the middlebox's privileged side refused a firewall operation of its worker. */
export const MIDDLEBOX_REFUSALS = {
  malformed: 'the operation does not parse (unknown kind, extra or missing field, value out of range)',
  'internal-address': 'the internal address is not an inside host',
  'peer-address': "a mapping's filter peer is an inside host or the middlebox's external address",
  'external-port': 'the external port is outside the configured ranges',
  lifetime: 'the lifetime exceeds the configured maximum',
  'hole-kind': 'not a PCP inbound mapping (outbound, one-shot, marked or with a peer port)',
} as const;
export type MiddleboxRefusal = keyof typeof MIDDLEBOX_REFUSALS;

const ipv4 = z.string().max(15).refine(isIpv4);
const port = z.number().int().min(1).max(65_535);
const hole = z.strictObject({
  id: z.string().regex(/^[\x20-\x7e]+$/).max(NFT_COMMENT_MAX),
  direction: z.enum(['inbound', 'outbound']),
  protocol: z.enum(['tcp', 'udp']),
  peer: ipv4.nullable(),
  peerPort: port.optional(),
  internalAddress: ipv4,
  internalPort: port,
  externalPort: port.nullable(),
  timeoutSeconds: z.number().int().min(0).max(0xffff_ffff),
  oneShot: z.boolean(),
  mark: z.number().int().min(0).max(0xffff_ffff),
});
export const firewallOpSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('open'), hole }),
  z.strictObject({ kind: z.literal('close'), hole }),
  z.strictObject({ kind: z.literal('replace'), old: hole, hole }),
]);

export type OpCheck = { readonly ok: true } | { readonly ok: false; readonly code: MiddleboxRefusal; readonly message: string };

const inside = (c: MiddleboxConfig, a: string): boolean => c.insideNetworks.some((n) => inNetwork(a, n));

export function checkMiddleboxHole(c: MiddleboxConfig, h: HoleSpec): OpCheck {
  if (h.direction !== 'inbound' || h.oneShot || h.mark !== 0 || h.peerPort !== undefined) return { ok: false, code: 'hole-kind', message: 'only PCP inbound mappings' };
  const first = Number(h.internalAddress.split('.')[0]);
  if (h.internalAddress === c.externalAddress || first === 0 || first === 127 || first >= 224 || (c.insideNetworks.length > 0 && !inside(c, h.internalAddress))) {
    return { ok: false, code: 'internal-address', message: `${h.internalAddress} is not an inside host` };
  }
  if (h.peer !== null && (inside(c, h.peer) || h.peer === c.externalAddress)) return { ok: false, code: 'peer-address', message: `filter peer ${h.peer} is not outside` };
  const [lo, hi] = c.portRange;
  if (h.externalPort === null || h.externalPort < lo || h.externalPort > hi) return { ok: false, code: 'external-port', message: `external port ${String(h.externalPort)} not in ${lo}-${hi}` };
  if (h.timeoutSeconds > c.maxLifetime) return { ok: false, code: 'lifetime', message: `lifetime ${h.timeoutSeconds} s over ${c.maxLifetime}` };
  return { ok: true };
}

export function checkMiddleboxOp(c: MiddleboxConfig, op: FirewallOp): OpCheck {
  if (op.kind === 'replace') {
    const old = checkMiddleboxHole(c, op.old);
    if (!old.ok) return old;
  }
  return checkMiddleboxHole(c, op.hole);
}
