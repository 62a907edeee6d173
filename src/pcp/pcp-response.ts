/**
 * PCP responses (RFC 6887 §7.2): version(0) | R=1,opcode(1) | reserved(2) | result(3) |
 * lifetime(4..7) | epoch(8..11) | reserved(12..23), then the opcode body (same layout as the
 * request's) and options. Error responses to a request we could parse carry its body.
 */
import { DecodeError, EncodeError } from '../protocol/decode-error.js';
import { readPcpAddress, writePcpAddress } from './pcp-address.js';
import { PCP_HEADER_SIZE, PCP_MAP_BODY_SIZE, PCP_MAX_MESSAGE, PCP_PEER_BODY_SIZE, PCP_RESPONSE_BIT, PCP_VERSION, PcpOpcode } from './pcp-constants.js';
import { NO_OPTIONS, decodePcpOptions, encodePcpOptions, pcpOptionsSize, type PcpOptions } from './pcp-option.js';
import { readMapBody, writeMapBody, type PcpMapBody, type PcpPeerBody } from './pcp-request.js';

export interface PcpResponse {
  readonly version: number;
  readonly opcode: number;
  readonly result: number;
  readonly lifetime: number;
  readonly epoch: number;
  /** MAP (or PEER, with remote fields) body; absent for ANNOUNCE and header-only errors. */
  readonly body?: PcpMapBody | PcpPeerBody;
  readonly options: PcpOptions;
}

function isPeer(b: PcpMapBody | PcpPeerBody): b is PcpPeerBody {
  return 'remoteAddress' in b;
}

export function encodePcpResponse(r: PcpResponse): Uint8Array {
  const bodyLen = r.body === undefined ? 0 : isPeer(r.body) ? PCP_PEER_BODY_SIZE : PCP_MAP_BODY_SIZE;
  const size = PCP_HEADER_SIZE + bodyLen + pcpOptionsSize(r.options);
  if (size > PCP_MAX_MESSAGE) throw new EncodeError('response', `${size} octets`);
  for (const [f, v, max] of [['opcode', r.opcode, 0x7f], ['result', r.result, 0xff], ['lifetime', r.lifetime, 0xffff_ffff], ['epoch', r.epoch, 0xffff_ffff]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(f, String(v));
  }
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  view.setUint8(0, r.version);
  view.setUint8(1, r.opcode | PCP_RESPONSE_BIT);
  view.setUint8(3, r.result);
  view.setUint32(4, r.lifetime);
  view.setUint32(8, r.epoch);
  let off = PCP_HEADER_SIZE;
  if (r.body !== undefined) {
    off = writeMapBody(buf, off, r.body);
    if (isPeer(r.body)) {
      view.setUint16(off, r.body.remotePort);
      writePcpAddress(buf, off + 4, r.body.remoteAddress);
      off += PCP_PEER_BODY_SIZE - PCP_MAP_BODY_SIZE;
    }
  }
  encodePcpOptions(buf, off, r.options);
  return buf;
}

/**
 * Decodes a response (client side). Throws DecodeError on malformed bytes: the client's receive
 * edge catches it and drops the datagram.
 */
export function decodePcpResponse(buf: Uint8Array): PcpResponse {
  if (buf.length < PCP_HEADER_SIZE) throw new DecodeError('header', 0, `${buf.length} octets`);
  if (buf.length > PCP_MAX_MESSAGE || buf.length % 4 !== 0) throw new DecodeError('length', 0, `${buf.length} octets`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = view.getUint8(0);
  const opByte = view.getUint8(1);
  if ((opByte & PCP_RESPONSE_BIT) === 0) throw new DecodeError('opcode', 1, 'R bit clear (a request)');
  const opcode = opByte & ~PCP_RESPONSE_BIT;
  const base = { version, opcode, result: view.getUint8(3), lifetime: view.getUint32(4), epoch: view.getUint32(8) };
  if (version !== PCP_VERSION) return { ...base, options: NO_OPTIONS };
  let off = PCP_HEADER_SIZE;
  let body: PcpMapBody | PcpPeerBody | undefined;
  const need = opcode === PcpOpcode.MAP ? PCP_MAP_BODY_SIZE : opcode === PcpOpcode.PEER ? PCP_PEER_BODY_SIZE : 0;
  if (need > 0 && buf.length >= off + need) {
    const map = readMapBody(buf, off);
    body = opcode === PcpOpcode.PEER ? { ...map, remotePort: view.getUint16(off + PCP_MAP_BODY_SIZE), remoteAddress: readPcpAddress(buf, off + PCP_MAP_BODY_SIZE + 4) } : map;
    off += need;
  } else if (need > 0 && buf.length > off) {
    throw new DecodeError('body', off, `${buf.length - off} octets for opcode ${opcode}`);
  }
  const opts = decodePcpOptions(buf, off, buf.length, opcode);
  if (!opts.ok) throw new DecodeError('options', off, opts.reason);
  return body === undefined ? { ...base, options: opts.options } : { ...base, body, options: opts.options };
}
