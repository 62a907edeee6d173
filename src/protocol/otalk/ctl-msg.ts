/**
 * otalk (4.2BSD, udp/517) CTL_MSG: 76 bytes, a raw C struct with 4-byte int alignment
 * (4.2BSD / SunOS `ctl.h`, talk-protocol.md §2):
 *
 * | off | size | field    |      | off | size | field    |
 * |-----|------|----------|------|-----|------|----------|
 * | 0   | 1    | type     |      | 24  | 4    | pid      |
 * | 1   | 9    | l_name   |      | 28  | 16   | r_tty    |
 * | 10  | 9    | r_name   |      | 44  | 16   | addr     |
 * | 19  | 1    | filler   |      | 60  | 16   | ctl_addr |
 * | 20  | 4    | id_num   |      |     |      |          |
 *
 * id_num, pid and both sin_family fields are in the sender's native byte order; ports and
 * addresses are in network order. The order is detected from ctl_addr.sin_family (AF_INET
 * read big- or little-endian), falling back to addr.sin_family, as 4.3BSD-Tahoe / SunOS
 * talkd `swapmsg` do.
 */
import { AF_INET, OTALK_CTL_MSG_SIZE, OTALK_NAME_SIZE, TTY_SIZE } from '../constants.js';
import { DecodeError } from '../decode-error.js';
import { decodeSockAddr, encodeSockAddr } from '../osockaddr.js';
import type { ByteOrder, OtalkCtlMsg } from '../talk-types.js';
import {
  checkByteOrder,
  expectLength,
  readFixedString,
  readI32,
  readU16,
  readU32,
  readU8,
  writeFixedString,
  writeI32,
  writeU32,
  writeU8,
} from '../wire.js';

/** Byte offsets of the otalk CTL_MSG fields. */
export const OtalkCtlMsgOffset = {
  type: 0,
  l_name: 1,
  r_name: 10,
  filler: 19,
  id_num: 20,
  pid: 24,
  r_tty: 28,
  addr: 44,
  ctl_addr: 60,
} as const;

const O = OtalkCtlMsgOffset;

/** The byte order in which the u16 at `offset` reads as AF_INET, if any. */
function familyOrderAt(bytes: Uint8Array, offset: number, field: string): ByteOrder | undefined {
  if (readU16(bytes, offset, 'big', field) === AF_INET) return 'big';
  if (readU16(bytes, offset, 'little', field) === AF_INET) return 'little';
  return undefined;
}

/**
 * The sender's byte order of a 76-byte otalk request: from ctl_addr.sin_family, else from
 * addr.sin_family; DecodeError on `ctl_addr.family` when neither reads as AF_INET.
 */
export function detectOtalkByteOrder(bytes: Uint8Array): ByteOrder {
  const order =
    familyOrderAt(bytes, O.ctl_addr, 'ctl_addr.family') ?? familyOrderAt(bytes, O.addr, 'addr.family');
  if (order === undefined) {
    throw new DecodeError('ctl_addr.family', O.ctl_addr, 'neither ctl_addr nor addr family reads as AF_INET in either byte order');
  }
  return order;
}

/** Decodes a 76-byte otalk request, detecting the sender's byte order. */
export function decodeOtalkCtlMsg(bytes: Uint8Array): OtalkCtlMsg {
  expectLength(bytes, OTALK_CTL_MSG_SIZE, 'an otalk CTL_MSG');
  const byteOrder = detectOtalkByteOrder(bytes);
  return {
    byteOrder,
    type: readU8(bytes, O.type, 'type'),
    id: readU32(bytes, O.id_num, byteOrder, 'id_num'),
    addr: decodeSockAddr(bytes, O.addr, byteOrder, 'addr'),
    ctlAddr: decodeSockAddr(bytes, O.ctl_addr, byteOrder, 'ctl_addr'),
    pid: readI32(bytes, O.pid, byteOrder, 'pid'),
    lName: readFixedString(bytes, O.l_name, OTALK_NAME_SIZE, 'l_name'),
    rName: readFixedString(bytes, O.r_name, OTALK_NAME_SIZE, 'r_name'),
    rTty: readFixedString(bytes, O.r_tty, TTY_SIZE, 'r_tty'),
  };
}

/** Encodes an otalk request (76 bytes) in `m.byteOrder`; the filler byte is 0. */
export function encodeOtalkCtlMsg(m: OtalkCtlMsg): Uint8Array {
  checkByteOrder(m.byteOrder, 'byteOrder');
  const out = new Uint8Array(OTALK_CTL_MSG_SIZE);
  writeU8(out, O.type, m.type, 'type');
  writeFixedString(out, O.l_name, OTALK_NAME_SIZE, m.lName, 'l_name');
  writeFixedString(out, O.r_name, OTALK_NAME_SIZE, m.rName, 'r_name');
  writeU32(out, O.id_num, m.id, m.byteOrder, 'id_num');
  writeI32(out, O.pid, m.pid, m.byteOrder, 'pid');
  writeFixedString(out, O.r_tty, TTY_SIZE, m.rTty, 'r_tty');
  encodeSockAddr(out, O.addr, m.addr, m.byteOrder, 'addr');
  encodeSockAddr(out, O.ctl_addr, m.ctlAddr, m.byteOrder, 'ctl_addr');
  return out;
}
