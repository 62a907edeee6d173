/**
 * Pure classification of a datagram the tproxy socket received (transparent and pinhole modes):
 * a client's control request intercepted on its way to a talk daemon across the gateway, an inside
 * daemon's answer to a request the gateway sent from a foreign (outside caller's) address, or
 * something to drop. The side is derived from where the datagram was headed, so the session core's
 * spoofing check (source on the other side) stays a real check.
 */
import { cidrContains, type Ipv4Cidr } from '../../shared/ipv4-cidr.js';
import type { Endpoint, Side, TalkProtocol } from '../session/session-types.js';

export interface InterceptContext {
  readonly insideNetworks: readonly Ipv4Cidr[];
  /** The gateway's own addresses: datagrams addressed to them did not cross (never intercepted). */
  readonly gatewayAddresses: readonly string[];
  /** Destination ports that are intercepted (talk control: otalk 517, ntalk 518). */
  readonly interceptedPorts: readonly number[];
  /** The tproxy socket's port, also the source port of requests sent from foreign addresses. */
  readonly tproxyPort: number;
  /** Ports of the inside daemons (their answers come from these). */
  readonly insideDaemonPorts: { readonly ntalk: number; readonly otalk: number };
}

export type InterceptClass =
  | { readonly kind: 'request'; readonly side: Side }
  | { readonly kind: 'response'; readonly side: Side; readonly protocol: TalkProtocol }
  | { readonly kind: 'drop'; readonly reason: string };

function inside(ctx: InterceptContext, address: string): boolean {
  return ctx.insideNetworks.some((n) => cidrContains(n, address));
}

export function classifyIntercepted(ctx: InterceptContext, source: Endpoint, originalDestination: Endpoint): InterceptClass {
  if (ctx.gatewayAddresses.includes(originalDestination.address)) {
    return { kind: 'drop', reason: 'addressed to the gateway itself, not intercepted' };
  }
  const destInside = inside(ctx, originalDestination.address);
  if (originalDestination.port === ctx.tproxyPort && !destInside && inside(ctx, source.address)) {
    const p = ctx.insideDaemonPorts;
    if (source.port === p.ntalk) return { kind: 'response', side: 'inside', protocol: 'ntalk' };
    if (source.port === p.otalk) return { kind: 'response', side: 'inside', protocol: 'otalk' };
    return { kind: 'drop', reason: `to the tproxy port from ${source.port}, not a daemon port` };
  }
  if (!ctx.interceptedPorts.includes(originalDestination.port)) {
    return { kind: 'drop', reason: `destination port ${originalDestination.port} is not intercepted` };
  }
  // Headed inside: it came from the outside, and vice versa.
  return { kind: 'request', side: destInside ? 'outside' : 'inside' };
}
