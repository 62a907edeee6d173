/**
 * The privileged side's check of every worker request against the configuration (pure): holes
 * only for the configured faces, an inside party only inside the inside networks, an outside peer
 * never an inside address (a hole's life is the configured hole_timeout, whatever the worker asks); datagrams from foreign addresses only
 * between one inside and one outside address, of a talk control message's size. The table, the
 * external ports and the marks are never the worker's to choose: the privileged side picks them.
 */
import type { GatewayConfig } from '../../config/gateway-config.js';
import { cidrContains, isLoopback } from '../../shared/ipv4-cidr.js';
import { parseIPv4 } from '../../protocol/wire.js';
import type { DataPathRequest } from '../session/session-types.js';
import { MAX_CONTROL_BYTES, type PrivilegedRefusal, type PrivilegedRequest } from './privsep-messages.js';

export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly code: PrivilegedRefusal; readonly message: string };

const OK: CheckResult = { ok: true };
const refuse = (code: PrivilegedRefusal, message: string): CheckResult => ({ ok: false, code, message });

/** Talk control datagram sizes: ntalk CTL_MSG 84 / CTL_RESPONSE 24, otalk CTL_MSG 76 / CTL_RESPONSE 24 or 22. */
const CONTROL_SIZES: ReadonlySet<number> = new Set([22, 24, 76, MAX_CONTROL_BYTES]);

function inside(c: GatewayConfig, address: string): boolean {
  return c.inside.networks.some((n) => cidrContains(n, address));
}

/** An address a datagram or a hole may name at all: unicast, not this gateway's own, not 0/8, loopback, multicast, broadcast. */
function unicastElsewhere(c: GatewayConfig, address: string): boolean {
  const first = parseIPv4(address)?.[0];
  if (first === undefined) return false;
  if (first === 0 || first >= 224 || isLoopback(address)) return false;
  return address !== c.inside.address && address !== c.outside.address;
}

export function checkHoleRequest(c: GatewayConfig, r: DataPathRequest): CheckResult {
  if (c.mode !== 'pinhole' || c.middlebox !== undefined) return refuse('no-holes-here', `mode ${c.mode} has no local holes`);
  const other = r.listenSide === 'inside' ? c.outside : c.inside;
  const own = r.listenSide === 'inside' ? c.inside : c.outside;
  if (r.listenAddress !== own.address) return refuse('listen-address', `listen address ${r.listenAddress} is not the ${r.listenSide} face ${own.address}`);
  if (r.bindAddress !== other.address) return refuse('bind-address', `bind address ${r.bindAddress} is not the gateway's other face`);
  // The connecting party lives on the listen side; the caller's rendezvous on the other one.
  const peerInside = inside(c, r.expectedPeer);
  const targetInside = inside(c, r.target.address);
  if (!unicastElsewhere(c, r.expectedPeer) || peerInside !== (r.listenSide === 'inside')) {
    return refuse('peer-side', `peer ${r.expectedPeer} is not a host on the ${r.listenSide}`);
  }
  if (!unicastElsewhere(c, r.target.address) || targetInside === (r.listenSide === 'inside')) {
    return refuse('target-side', `target ${r.target.address} is not a host on the other side`);
  }
  return OK;
}

/** A datagram sent from a foreign address: one end inside, the other outside, a control message's size. */
export function checkSendFrom(c: GatewayConfig, length: number, from: { address: string }, to: { address: string }): CheckResult {
  if (c.mode === 'classical' || (c.mode === 'pinhole' && (!c.pinhole.intercept || c.middlebox !== undefined))) {
    return refuse('no-interception', `mode ${c.mode} intercepts nothing`);
  }
  if (!CONTROL_SIZES.has(length)) return refuse('datagram-size', `${length} bytes is not a talk control message`);
  if (!unicastElsewhere(c, from.address) || !unicastElsewhere(c, to.address) || inside(c, from.address) === inside(c, to.address)) {
    return refuse('send-sides', `${from.address} -> ${to.address} does not cross the gateway`);
  }
  return OK;
}

/** The configuration check of a parsed request (renew/close/list/flush need none beyond their shape). */
export function checkPrivilegedRequest(c: GatewayConfig, r: PrivilegedRequest): CheckResult {
  switch (r.op) {
    case 'open':
      return checkHoleRequest(c, r.request);
    case 'sendFrom':
      return checkSendFrom(c, Buffer.byteLength(r.bytes, 'base64'), r.from, r.to);
    default:
      return OK;
  }
}
