/**
 * otalk responses, hand-made from the layouts in talk-protocol.md §2: the padded 24-byte form
 * (id_num at 4, addr at 8) and the 22-byte form of daemons built without int alignment
 * (id_num at 2, addr at 6), each in both byte orders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, EncodeError } from '../decode-error.js';
import { sockAddr } from '../osockaddr.js';
import type { OtalkCtlResponse } from '../talk-types.js';
import { decodeOtalkCtlResponse, encodeOtalkCtlResponse } from './ctl-response.js';

const hex = (s: string) => Uint8Array.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));

// Successful LOOK_UP reply, id 7, rendezvous 10.1.0.2:44111.
const PADDED_BIG = hex(`
  01 00 00 00                                     # type LOOK_UP, answer SUCCESS, 2 pad bytes
  00 00 00 07                                     # 4 id_num BE
  00 02 ac 4f 0a 01 00 02 00 00 00 00 00 00 00 00 # 8 addr, family BE
`);
const PADDED_LITTLE = hex(`
  01 00 00 00
  07 00 00 00                                     # 4 id_num LE
  02 00 ac 4f 0a 01 00 02 00 00 00 00 00 00 00 00 # 8 addr, family LE
`);
const UNPADDED_BIG = hex(`
  01 00                                           # type, answer
  00 00 00 07                                     # 2 id_num BE
  00 02 ac 4f 0a 01 00 02 00 00 00 00 00 00 00 00 # 6 addr
`);
const UNPADDED_LITTLE = hex(`
  01 00
  07 00 00 00                                     # 2 id_num LE
  02 00 ac 4f 0a 01 00 02 00 00 00 00 00 00 00 00 # 6 addr, family LE
`);

const common = { type: 1, answer: 0, id: 7, addr: sockAddr('10.1.0.2', 44111) };
const cases: Array<[string, Uint8Array, OtalkCtlResponse]> = [
  ['padded big-endian', PADDED_BIG, { byteOrder: 'big', layout: 'padded', ...common }],
  ['padded little-endian', PADDED_LITTLE, { byteOrder: 'little', layout: 'padded', ...common }],
  ['unpadded big-endian', UNPADDED_BIG, { byteOrder: 'big', layout: 'unpadded', ...common }],
  ['unpadded little-endian', UNPADDED_LITTLE, { byteOrder: 'little', layout: 'unpadded', ...common }],
];

for (const [label, bytes, r] of cases) {
  test(`decodeOtalkCtlResponse() decodes a hand-made ${label} reply`, () => {
    assert.equal(bytes.length, r.layout === 'padded' ? 24 : 22);
    assert.deepEqual(decodeOtalkCtlResponse(bytes, r.byteOrder), r);
  });
  test(`encodeOtalkCtlResponse() reproduces the ${label} reply byte for byte`, () => {
    assert.deepEqual(encodeOtalkCtlResponse(r), bytes);
  });
}

test('decodeOtalkCtlResponse() in the wrong byte order swaps id_num and family (the swapmsg problem)', () => {
  const r = decodeOtalkCtlResponse(PADDED_BIG, 'little');
  assert.equal(r.id, 0x07000000);
  assert.equal(r.addr.family, 0x0200);
  assert.equal(r.addr.port, 44111, 'port is network order either way');
});

test('encodeOtalkCtlResponse() writes the padding bytes 0', () => {
  const b = Uint8Array.from(PADDED_BIG);
  b[2] = 0xab;
  b[3] = 0xcd;
  assert.deepEqual(encodeOtalkCtlResponse(decodeOtalkCtlResponse(b, 'big')), PADDED_BIG);
});

test('decodeOtalkCtlResponse() rejects every length but 22 and 24', () => {
  for (const n of [0, 1, 21, 23, 25, 76, 84]) {
    assert.throws(
      () => decodeOtalkCtlResponse(new Uint8Array(n), 'big'),
      (e: unknown) => e instanceof DecodeError && e.field === 'length',
      `length ${n}`,
    );
  }
});

test('encodeOtalkCtlResponse() throws EncodeError for an unknown layout', () => {
  const bad = { ...common, byteOrder: 'big', layout: 'compact' } as unknown as OtalkCtlResponse;
  assert.throws(() => encodeOtalkCtlResponse(bad), (e: unknown) => e instanceof EncodeError && e.field === 'layout');
});

test('encodeOtalkCtlResponse() throws EncodeError for an unknown byte order', () => {
  const bad = { ...common, byteOrder: 'middle', layout: 'padded' } as unknown as OtalkCtlResponse;
  assert.throws(() => encodeOtalkCtlResponse(bad), (e: unknown) => e instanceof EncodeError && e.field === 'byteOrder');
});
