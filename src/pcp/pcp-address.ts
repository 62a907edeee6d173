/**
 * PCP carries every address in 16 octets; IPv4 as the IPv4-mapped IPv6 address ::ffff:a.b.c.d
 * (RFC 6887 §5). Text form: dotted quad for mapped IPv4, otherwise 8 hex groups ("::" when all zero).
 */
import { DecodeError, EncodeError } from '../protocol/decode-error.js';

export const PCP_ADDRESS_SIZE = 16;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIpv4(text: string): boolean {
  const m = IPV4.exec(text);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** Writes `text` (IPv4 dotted or IPv6) as 16 octets at `offset`. */
export function writePcpAddress(buf: Uint8Array, offset: number, text: string): void {
  const m = IPV4.exec(text);
  if (m !== null) {
    const parts = m.slice(1).map(Number);
    if (parts.some((x) => x > 255)) throw new EncodeError('address', `bad IPv4 ${text}`);
    buf.fill(0, offset, offset + 10);
    buf[offset + 10] = 0xff;
    buf[offset + 11] = 0xff;
    parts.forEach((p, i) => (buf[offset + 12 + i] = p));
    return;
  }
  const groups = parseIpv6(text);
  if (groups === null) throw new EncodeError('address', `not an IP address: ${JSON.stringify(text).slice(0, 60)}`);
  groups.forEach((g, i) => {
    buf[offset + 2 * i] = g >> 8;
    buf[offset + 2 * i + 1] = g & 0xff;
  });
}

/** Reads 16 octets at `offset`. */
export function readPcpAddress(buf: Uint8Array, offset: number): string {
  if (offset + PCP_ADDRESS_SIZE > buf.length) throw new DecodeError('address', offset, 'truncated');
  let mapped = buf[offset + 10] === 0xff && buf[offset + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (buf[offset + i] !== 0) mapped = false;
  if (mapped) return `${buf[offset + 12]}.${buf[offset + 13]}.${buf[offset + 14]}.${buf[offset + 15]}`;
  const groups: string[] = [];
  let zero = true;
  for (let i = 0; i < 8; i++) {
    const g = ((buf[offset + 2 * i] ?? 0) << 8) | (buf[offset + 2 * i + 1] ?? 0);
    if (g !== 0) zero = false;
    groups.push(g.toString(16));
  }
  return zero ? '::' : groups.join(':');
}

function parseIpv6(text: string): number[] | null {
  if (!/^[0-9a-fA-F:]{2,39}$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const part = (s: string): number[] | null => {
    if (s === '') return [];
    const gs = s.split(':');
    if (gs.some((g) => g.length === 0 || g.length > 4)) return null;
    return gs.map((g) => parseInt(g, 16));
  };
  const head = part(halves[0] ?? '');
  const tail = halves.length === 2 ? part(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}
