/**
 * ntalk v1 CTL_RESPONSE (24 bytes, big-endian), talkd.h / talk-protocol.md §1:
 * vers (0) | type (1) | answer (2) | pad (3) | id_num u32 (4) | addr osockaddr (8..23).
 *
 * `addr` is meaningful only in a successful LOOK_UP reply; real daemons leave it (and `pad`,
 * and `answer` of a LEAVE_INVITE reply) uninitialised, so it decodes as whatever was sent.
 * `pad` is written 0.
 */
import { NTALK_CTL_RESPONSE_SIZE } from '../constants.js';
import { decodeSockAddr, encodeSockAddr } from '../osockaddr.js';
import type { NtalkCtlResponse } from '../talk-types.js';
import { expectLength, readU32, readU8, writeU32, writeU8 } from '../wire.js';

/** Byte offsets of the ntalk CTL_RESPONSE fields. */
export const NtalkCtlResponseOffset = {
  vers: 0,
  type: 1,
  answer: 2,
  pad: 3,
  id_num: 4,
  addr: 8,
} as const;

const O = NtalkCtlResponseOffset;

/** Decodes a 24-byte ntalk response; DecodeError (field `length`) for any other size. */
export function decodeNtalkCtlResponse(bytes: Uint8Array): NtalkCtlResponse {
  expectLength(bytes, NTALK_CTL_RESPONSE_SIZE, 'an ntalk CTL_RESPONSE');
  return {
    version: readU8(bytes, O.vers, 'vers'),
    type: readU8(bytes, O.type, 'type'),
    answer: readU8(bytes, O.answer, 'answer'),
    id: readU32(bytes, O.id_num, 'big', 'id_num'),
    addr: decodeSockAddr(bytes, O.addr, 'big', 'addr'),
  };
}

/** Encodes an ntalk response (24 bytes, pad 0); EncodeError if a field is out of range. */
export function encodeNtalkCtlResponse(r: NtalkCtlResponse): Uint8Array {
  const out = new Uint8Array(NTALK_CTL_RESPONSE_SIZE);
  writeU8(out, O.vers, r.version, 'vers');
  writeU8(out, O.type, r.type, 'type');
  writeU8(out, O.answer, r.answer, 'answer');
  writeU32(out, O.id_num, r.id, 'big', 'id_num');
  encodeSockAddr(out, O.addr, r.addr, 'big', 'addr');
  return out;
}
