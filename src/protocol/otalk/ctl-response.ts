/**
 * otalk CTL_RESPONSE (talk-protocol.md §2), id_num and sin_family in the daemon's order:
 *
 * - padded, 24 bytes (4-byte int alignment): type (0) | answer (1) | pad (2–3) | id_num (4) | addr (8..23)
 * - unpadded, 22 bytes (daemons built without int alignment): type (0) | answer (1) | id_num (2) | addr (6..21)
 *
 * The byte order cannot be detected from a response (addr is garbage except in a successful
 * LOOK_UP), so the caller passes the order it expects; daemons answer in the requester's order.
 */
import { OTALK_CTL_RESPONSE_SIZE, OTALK_CTL_RESPONSE_UNPADDED_SIZE } from '../constants.js';
import { DecodeError, EncodeError } from '../decode-error.js';
import { decodeSockAddr, encodeSockAddr } from '../osockaddr.js';
import type { ByteOrder, OtalkCtlResponse } from '../talk-types.js';
import { checkByteOrder, readU32, readU8, writeU32, writeU8 } from '../wire.js';

/** Byte offsets of the otalk CTL_RESPONSE fields in each layout. */
export const OtalkCtlResponseOffset = {
  padded: { type: 0, answer: 1, pad: 2, id_num: 4, addr: 8 },
  unpadded: { type: 0, answer: 1, id_num: 2, addr: 6 },
} as const;

/** Size in bytes of an otalk response in `layout`. */
export function otalkCtlResponseSize(layout: OtalkCtlResponse['layout']): number {
  return layout === 'padded' ? OTALK_CTL_RESPONSE_SIZE : OTALK_CTL_RESPONSE_UNPADDED_SIZE;
}

/** Decodes a 24-byte (padded) or 22-byte (unpadded) otalk response in `byteOrder`. */
export function decodeOtalkCtlResponse(bytes: Uint8Array, byteOrder: ByteOrder): OtalkCtlResponse {
  let layout: OtalkCtlResponse['layout'];
  if (bytes.length === OTALK_CTL_RESPONSE_SIZE) layout = 'padded';
  else if (bytes.length === OTALK_CTL_RESPONSE_UNPADDED_SIZE) layout = 'unpadded';
  else {
    throw new DecodeError(
      'length',
      0,
      `an otalk CTL_RESPONSE must be ${OTALK_CTL_RESPONSE_SIZE} or ${OTALK_CTL_RESPONSE_UNPADDED_SIZE} bytes, got ${bytes.length}`,
    );
  }
  const o = OtalkCtlResponseOffset[layout];
  return {
    byteOrder,
    layout,
    type: readU8(bytes, o.type, 'type'),
    answer: readU8(bytes, o.answer, 'answer'),
    id: readU32(bytes, o.id_num, byteOrder, 'id_num'),
    addr: decodeSockAddr(bytes, o.addr, byteOrder, 'addr'),
  };
}

/** Encodes an otalk response in `r.layout` and `r.byteOrder` (padding bytes 0). */
export function encodeOtalkCtlResponse(r: OtalkCtlResponse): Uint8Array {
  if (r.layout !== 'padded' && r.layout !== 'unpadded') {
    throw new EncodeError('layout', `${JSON.stringify(r.layout)} is neither "padded" nor "unpadded"`);
  }
  checkByteOrder(r.byteOrder, 'byteOrder');
  const o = OtalkCtlResponseOffset[r.layout];
  const out = new Uint8Array(otalkCtlResponseSize(r.layout));
  writeU8(out, o.type, r.type, 'type');
  writeU8(out, o.answer, r.answer, 'answer');
  writeU32(out, o.id_num, r.id, r.byteOrder, 'id_num');
  encodeSockAddr(out, o.addr, r.addr, r.byteOrder, 'addr');
  return out;
}
