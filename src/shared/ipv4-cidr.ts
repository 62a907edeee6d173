/**
 * IPv4 networks in CIDR notation (`10.1.0.0/24`, or a bare address = /32), parsed once and
 * matched as 32-bit integers. Pure; used by the config (inside networks), policy and naming.
 */
import { parseIPv4 } from '../protocol/wire.js';

/** A parsed IPv4 network. */
export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  readonly network: number;
  readonly prefix: number;
  /** The text it was parsed from, for messages. */
  readonly text: string;
}

/** The address as an unsigned 32-bit integer, or undefined when `address` is not a dotted quad. */
export function ipv4ToInt(address: string): number | undefined {
  const b = parseIPv4(address);
  if (b === undefined) return undefined;
  return (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffff_ffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/n` or `a.b.c.d`; undefined when malformed. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? '32' : text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > 32) return undefined;
  const n = ipv4ToInt(addr);
  if (n === undefined) return undefined;
  return { network: (n & maskOf(prefix)) >>> 0, prefix, text };
}

/** True when `address` (dotted quad) lies inside `cidr`. */
export function cidrContains(cidr: Ipv4Cidr, address: string): boolean {
  const n = ipv4ToInt(address);
  if (n === undefined) return false;
  return ((n & maskOf(cidr.prefix)) >>> 0) === cidr.network;
}

const LOOPBACK = parseCidr('127.0.0.0/8') as Ipv4Cidr;

/** True for 127.0.0.0/8. */
export function isLoopback(address: string): boolean {
  return cidrContains(LOOPBACK, address);
}
