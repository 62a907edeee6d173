/**
 * NAT-PMP (RFC 6886), PCP version 0. Requests: address (2 B: version 0, op 0) and map
 * (12 B: version, op 1 UDP / 2 TCP, reserved(2..3), internal port(4..5), suggested external
 * port(6..7), lifetime(8..11)). Responses: version, op+128, result(2..3), epoch(4..7), then
 * the address (8..11, 12 B total) or internal port, mapped port, lifetime (16 B total).
 */
import { DecodeError } from '../protocol/decode-error.js';
import {
  NATPMP_ADDRESS_REQUEST_SIZE,
  NATPMP_ADDRESS_RESPONSE_SIZE,
  NATPMP_ERROR_RESPONSE_SIZE,
  NATPMP_MAP_REQUEST_SIZE,
  NATPMP_MAP_RESPONSE_SIZE,
  NATPMP_VERSION,
  NatpmpOpcode,
  NatpmpResult,
} from './pcp-constants.js';

export type NatpmpRequest =
  | { readonly op: typeof NatpmpOpcode.ADDRESS }
  | { readonly op: typeof NatpmpOpcode.MAP_UDP | typeof NatpmpOpcode.MAP_TCP; readonly internalPort: number; readonly externalPort: number; readonly lifetime: number };

export type NatpmpResponse =
  | { readonly op: typeof NatpmpOpcode.ADDRESS; readonly result: number; readonly epoch: number; readonly address: string }
  | { readonly op: typeof NatpmpOpcode.MAP_UDP | typeof NatpmpOpcode.MAP_TCP; readonly result: number; readonly epoch: number; readonly internalPort: number; readonly externalPort: number; readonly lifetime: number }
  /** An error answer to an opcode we don't know (or a bad version): header only. */
  | { readonly op: number; readonly result: number; readonly epoch: number; readonly headerOnly: true };

export type NatpmpRequestDecode =
  | { readonly kind: 'request'; readonly request: NatpmpRequest }
  | { readonly kind: 'silent'; readonly reason: string }
  | { readonly kind: 'error'; readonly op: number; readonly result: number; readonly reason: string };

export function decodeNatpmpRequest(buf: Uint8Array): NatpmpRequestDecode {
  if (buf.length < 2) return { kind: 'silent', reason: `${buf.length}-octet datagram` };
  const version = buf[0] ?? 0;
  const op = buf[1] ?? 0;
  if (op >= 128) return { kind: 'silent', reason: 'a response' };
  if (version !== NATPMP_VERSION) return { kind: 'error', op, result: NatpmpResult.UNSUPP_VERSION, reason: `version ${version}` };
  if (op === NatpmpOpcode.ADDRESS) {
    // RFC 6886 §3.2: extra octets are ignored by deployed servers; accept >= 2.
    return { kind: 'request', request: { op } };
  }
  if (op === NatpmpOpcode.MAP_UDP || op === NatpmpOpcode.MAP_TCP) {
    if (buf.length < NATPMP_MAP_REQUEST_SIZE) return { kind: 'silent', reason: `map request of ${buf.length} octets` };
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return { kind: 'request', request: { op, internalPort: v.getUint16(4), externalPort: v.getUint16(6), lifetime: v.getUint32(8) } };
  }
  return { kind: 'error', op, result: NatpmpResult.UNSUPP_OPCODE, reason: `opcode ${op}` };
}

export function encodeNatpmpRequest(r: NatpmpRequest): Uint8Array {
  if (r.op === NatpmpOpcode.ADDRESS) return Uint8Array.of(NATPMP_VERSION, r.op).subarray(0, NATPMP_ADDRESS_REQUEST_SIZE);
  const buf = new Uint8Array(NATPMP_MAP_REQUEST_SIZE);
  const v = new DataView(buf.buffer);
  v.setUint8(1, r.op);
  v.setUint16(4, r.internalPort);
  v.setUint16(6, r.externalPort);
  v.setUint32(8, r.lifetime);
  return buf;
}

export function encodeNatpmpResponse(r: NatpmpResponse): Uint8Array {
  const size = 'headerOnly' in r ? NATPMP_ERROR_RESPONSE_SIZE : r.op === NatpmpOpcode.ADDRESS ? NATPMP_ADDRESS_RESPONSE_SIZE : NATPMP_MAP_RESPONSE_SIZE;
  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  v.setUint8(0, NATPMP_VERSION);
  v.setUint8(1, (r.op | 0x80) & 0xff);
  v.setUint16(2, r.result);
  v.setUint32(4, r.epoch >>> 0);
  if ('headerOnly' in r) return buf;
  if ('address' in r) {
    r.address.split('.').forEach((p, i) => v.setUint8(8 + i, Number(p)));
  } else {
    v.setUint16(8, r.internalPort);
    v.setUint16(10, r.externalPort);
    v.setUint32(12, r.lifetime);
  }
  return buf;
}

/** Decodes a NAT-PMP response (client side); throws DecodeError on malformed bytes. */
export function decodeNatpmpResponse(buf: Uint8Array): NatpmpResponse {
  if (buf.length < NATPMP_ERROR_RESPONSE_SIZE) throw new DecodeError('header', 0, `${buf.length} octets`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const opByte = v.getUint8(1);
  if (opByte < 128) throw new DecodeError('op', 1, 'not a response');
  const op = opByte - 128;
  const result = v.getUint16(2);
  const epoch = v.getUint32(4);
  if (op === NatpmpOpcode.ADDRESS && buf.length >= NATPMP_ADDRESS_RESPONSE_SIZE) {
    return { op, result, epoch, address: `${v.getUint8(8)}.${v.getUint8(9)}.${v.getUint8(10)}.${v.getUint8(11)}` };
  }
  if ((op === NatpmpOpcode.MAP_UDP || op === NatpmpOpcode.MAP_TCP) && buf.length >= NATPMP_MAP_RESPONSE_SIZE) {
    return { op, result, epoch, internalPort: v.getUint16(8), externalPort: v.getUint16(10), lifetime: v.getUint32(12) };
  }
  return { op, result, epoch, headerOnly: true };
}
