/**
 * ntalk v1 CTL_MSG (84 bytes, every integer big-endian), talkd.h / talk-protocol.md §1:
 *
 * | off | size | field    |      | off | size | field    |
 * |-----|------|----------|------|-----|------|----------|
 * | 0   | 1    | vers     |      | 24  | 16   | ctl_addr |
 * | 1   | 1    | type     |      | 40  | 4    | pid      |
 * | 2   | 1    | answer   |      | 44  | 12   | l_name   |
 * | 3   | 1    | pad      |      | 56  | 12   | r_name   |
 * | 4   | 4    | id_num   |      | 68  | 16   | r_tty    |
 * | 8   | 16   | addr     |      |     |      |          |
 *
 * Version, type and answer are data (a daemon answers BADVERSION / UNKNOWN_REQUEST); only a
 * datagram of the wrong length is a DecodeError. `answer` and `pad` are written 0.
 */
import { NTALK_CTL_MSG_SIZE, NTALK_NAME_SIZE, TTY_SIZE } from '../constants.js';
import { decodeSockAddr, encodeSockAddr } from '../osockaddr.js';
import type { NtalkCtlMsg } from '../talk-types.js';
import { expectLength, readFixedString, readI32, readU32, readU8, writeFixedString, writeI32, writeU32, writeU8 } from '../wire.js';

/** Byte offsets of the ntalk CTL_MSG fields. */
export const NtalkCtlMsgOffset = {
  vers: 0,
  type: 1,
  answer: 2,
  pad: 3,
  id_num: 4,
  addr: 8,
  ctl_addr: 24,
  pid: 40,
  l_name: 44,
  r_name: 56,
  r_tty: 68,
} as const;

const O = NtalkCtlMsgOffset;

/** Decodes an 84-byte ntalk request; DecodeError (field `length`) for any other size. */
export function decodeNtalkCtlMsg(bytes: Uint8Array): NtalkCtlMsg {
  expectLength(bytes, NTALK_CTL_MSG_SIZE, 'an ntalk CTL_MSG');
  return {
    version: readU8(bytes, O.vers, 'vers'),
    type: readU8(bytes, O.type, 'type'),
    id: readU32(bytes, O.id_num, 'big', 'id_num'),
    addr: decodeSockAddr(bytes, O.addr, 'big', 'addr'),
    ctlAddr: decodeSockAddr(bytes, O.ctl_addr, 'big', 'ctl_addr'),
    pid: readI32(bytes, O.pid, 'big', 'pid'),
    lName: readFixedString(bytes, O.l_name, NTALK_NAME_SIZE, 'l_name'),
    rName: readFixedString(bytes, O.r_name, NTALK_NAME_SIZE, 'r_name'),
    rTty: readFixedString(bytes, O.r_tty, TTY_SIZE, 'r_tty'),
  };
}

/** Encodes an ntalk request (84 bytes); EncodeError if a field is out of range or too long. */
export function encodeNtalkCtlMsg(msg: NtalkCtlMsg): Uint8Array {
  const out = new Uint8Array(NTALK_CTL_MSG_SIZE);
  writeU8(out, O.vers, msg.version, 'vers');
  writeU8(out, O.type, msg.type, 'type');
  // answer (2) and pad (3) stay 0.
  writeU32(out, O.id_num, msg.id, 'big', 'id_num');
  encodeSockAddr(out, O.addr, msg.addr, 'big', 'addr');
  encodeSockAddr(out, O.ctl_addr, msg.ctlAddr, 'big', 'ctl_addr');
  writeI32(out, O.pid, msg.pid, 'big', 'pid');
  writeFixedString(out, O.l_name, NTALK_NAME_SIZE, msg.lName, 'l_name');
  writeFixedString(out, O.r_name, NTALK_NAME_SIZE, msg.rName, 'r_name');
  writeFixedString(out, O.r_tty, TTY_SIZE, msg.rTty, 'r_tty');
  return out;
}
