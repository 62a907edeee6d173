/**
 * PCP requests (RFC 6887 §7.1, §11.1 MAP, §12.1 PEER, §14.1 ANNOUNCE).
 * Header (24 B, big-endian): version(0) | R=0,opcode(1) | reserved(2..3) | lifetime(4..7) |
 * client IP(8..23). MAP body at 24: nonce(24..35) | protocol(36) | reserved(37..39) |
 * internal port(40..41) | suggested external port(42..43) | suggested external IP(44..59).
 * PEER body adds remote port(60..61) | reserved(62..63) | remote IP(64..79).
 *
 * Decoding returns the request, `silent` (drop, RFC 6887 §8.3), or an error result code to be
 * answered; peer bytes never throw.
 */
import { EncodeError } from '../protocol/decode-error.js';
import { readPcpAddress, writePcpAddress } from './pcp-address.js';
import {
  PCP_HEADER_SIZE,
  PCP_MAP_BODY_SIZE,
  PCP_MAX_MESSAGE,
  PCP_NONCE_SIZE,
  PCP_PEER_BODY_SIZE,
  PCP_RESPONSE_BIT,
  PCP_VERSION,
  PcpOpcode,
  PcpResult,
  type PcpResultCode,
} from './pcp-constants.js';
import { decodePcpOptions, encodePcpOptions, pcpOptionsSize, type PcpOptions } from './pcp-option.js';

export interface PcpMapBody {
  /** 12 octets. */
  readonly nonce: Uint8Array;
  /** IANA protocol number (6 TCP, 17 UDP, 0 all). */
  readonly protocol: number;
  readonly internalPort: number;
  /** Request: suggested; response: assigned. */
  readonly externalPort: number;
  readonly externalAddress: string;
}

export interface PcpPeerBody extends PcpMapBody {
  readonly remotePort: number;
  readonly remoteAddress: string;
}

export type PcpRequest =
  | { readonly opcode: typeof PcpOpcode.ANNOUNCE; readonly lifetime: number; readonly clientAddress: string; readonly options: PcpOptions }
  | { readonly opcode: typeof PcpOpcode.MAP; readonly lifetime: number; readonly clientAddress: string; readonly body: PcpMapBody; readonly options: PcpOptions }
  | { readonly opcode: typeof PcpOpcode.PEER; readonly lifetime: number; readonly clientAddress: string; readonly body: PcpPeerBody; readonly options: PcpOptions };

export type PcpRequestDecode =
  | { readonly kind: 'request'; readonly request: PcpRequest }
  /** Silently dropped: shorter than 2 octets, or the R bit set. */
  | { readonly kind: 'silent'; readonly reason: string }
  /** To be answered with `result` (the server builds the error response). */
  | { readonly kind: 'error'; readonly result: PcpResultCode; readonly opcode: number; readonly reason: string };

function bodySize(opcode: number): number {
  return opcode === PcpOpcode.MAP ? PCP_MAP_BODY_SIZE : opcode === PcpOpcode.PEER ? PCP_PEER_BODY_SIZE : 0;
}

/** Encodes a request. Throws EncodeError for out-of-range fields (our own bug, not peer data). */
export function encodePcpRequest(req: PcpRequest): Uint8Array {
  const size = PCP_HEADER_SIZE + bodySize(req.opcode) + pcpOptionsSize(req.options);
  if (size > PCP_MAX_MESSAGE) throw new EncodeError('request', `${size} octets > ${PCP_MAX_MESSAGE}`);
  if (!Number.isInteger(req.lifetime) || req.lifetime < 0 || req.lifetime > 0xffff_ffff) throw new EncodeError('lifetime', String(req.lifetime));
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  view.setUint8(0, PCP_VERSION);
  view.setUint8(1, req.opcode);
  view.setUint32(4, req.lifetime);
  writePcpAddress(buf, 8, req.clientAddress);
  let off = PCP_HEADER_SIZE;
  if (req.opcode !== PcpOpcode.ANNOUNCE) {
    off = writeMapBody(buf, off, req.body);
    if (req.opcode === PcpOpcode.PEER) {
      view.setUint16(off, req.body.remotePort);
      writePcpAddress(buf, off + 4, req.body.remoteAddress);
      off += PCP_PEER_BODY_SIZE - PCP_MAP_BODY_SIZE;
    }
  }
  encodePcpOptions(buf, off, req.options);
  return buf;
}

/** Writes the MAP fields at `off` (shared by requests and responses); returns the end. */
export function writeMapBody(buf: Uint8Array, off: number, b: PcpMapBody): number {
  if (b.nonce.length !== PCP_NONCE_SIZE) throw new EncodeError('nonce', `length ${b.nonce.length}`);
  for (const [f, v, max] of [['protocol', b.protocol, 0xff], ['internalPort', b.internalPort, 0xffff], ['externalPort', b.externalPort, 0xffff]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(f, String(v));
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf.set(b.nonce, off);
  view.setUint8(off + 12, b.protocol);
  view.setUint16(off + 16, b.internalPort);
  view.setUint16(off + 18, b.externalPort);
  writePcpAddress(buf, off + 20, b.externalAddress);
  return off + PCP_MAP_BODY_SIZE;
}

/** Reads the MAP fields at `off` (bounds checked by the caller). */
export function readMapBody(buf: Uint8Array, off: number): PcpMapBody {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    nonce: buf.slice(off, off + PCP_NONCE_SIZE),
    protocol: view.getUint8(off + 12),
    internalPort: view.getUint16(off + 16),
    externalPort: view.getUint16(off + 18),
    externalAddress: readPcpAddress(buf, off + 20),
  };
}

/** Decodes a datagram whose first octet is the PCP version (RFC 6887 §8.3 order of checks). */
export function decodePcpRequest(buf: Uint8Array): PcpRequestDecode {
  if (buf.length < 2) return { kind: 'silent', reason: `${buf.length}-octet datagram` };
  const version = buf[0] ?? 0;
  const opByte = buf[1] ?? 0;
  const opcode = opByte & ~PCP_RESPONSE_BIT;
  if ((opByte & PCP_RESPONSE_BIT) !== 0) return { kind: 'silent', reason: 'R bit set (a response)' };
  if (version !== PCP_VERSION) return { kind: 'error', result: PcpResult.UNSUPP_VERSION, opcode, reason: `version ${version}` };
  if (buf.length < PCP_HEADER_SIZE || buf.length > PCP_MAX_MESSAGE || buf.length % 4 !== 0) {
    return { kind: 'error', result: PcpResult.MALFORMED_REQUEST, opcode, reason: `length ${buf.length}` };
  }
  if (opcode !== PcpOpcode.ANNOUNCE && opcode !== PcpOpcode.MAP && opcode !== PcpOpcode.PEER) {
    return { kind: 'error', result: PcpResult.UNSUPP_OPCODE, opcode, reason: `opcode ${opcode}` };
  }
  const bodyEnd = PCP_HEADER_SIZE + bodySize(opcode);
  if (buf.length < bodyEnd) return { kind: 'error', result: PcpResult.MALFORMED_REQUEST, opcode, reason: `length ${buf.length} < ${bodyEnd} for opcode ${opcode}` };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lifetime = view.getUint32(4);
  const clientAddress = readPcpAddress(buf, 8);
  const opts = decodePcpOptions(buf, bodyEnd, buf.length, opcode);
  if (!opts.ok) return { kind: 'error', result: opts.result, opcode, reason: opts.reason };
  const options = opts.options;
  if (opcode === PcpOpcode.ANNOUNCE) return { kind: 'request', request: { opcode, lifetime, clientAddress, options } };
  const map = readMapBody(buf, PCP_HEADER_SIZE);
  // RFC 6887 §11.3: protocol 0 ("all") requires internal port 0.
  if (map.protocol === 0 && map.internalPort !== 0) return { kind: 'error', result: PcpResult.MALFORMED_REQUEST, opcode, reason: 'protocol 0 with a port' };
  if (opcode === PcpOpcode.MAP) return { kind: 'request', request: { opcode, lifetime, clientAddress, body: map, options } };
  const remotePort = view.getUint16(PCP_HEADER_SIZE + PCP_MAP_BODY_SIZE);
  const remoteAddress = readPcpAddress(buf, PCP_HEADER_SIZE + PCP_MAP_BODY_SIZE + 4);
  return { kind: 'request', request: { opcode, lifetime, clientAddress, body: { ...map, remotePort, remoteAddress }, options } };
}
