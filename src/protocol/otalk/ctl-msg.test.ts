/**
 * otalk requests. No otalk capture exists (the lab's Debian daemons are ntalk only), so the
 * packets below are built by hand, field by field, from the 4.2BSD/SunOS ctl.h layout in
 * shared/reference/talk-protocol.md §2: a Sun (big-endian) and a VAX (little-endian) sender
 * of the same ANNOUNCE differ exactly in id_num, pid and both sin_family fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, EncodeError } from '../decode-error.js';
import { sockAddr } from '../osockaddr.js';
import type { OtalkCtlMsg } from '../talk-types.js';
import { decodeOtalkCtlMsg, detectOtalkByteOrder, encodeOtalkCtlMsg } from './ctl-msg.js';

const hex = (s: string) => Uint8Array.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));

// alice (pid 4553 = 0x11c9) on 10.1.0.2 announces to bob on ttyp1, id 7.
const SUN_ANNOUNCE = hex(`
  03                                              # 0  type ANNOUNCE
  61 6c 69 63 65 00 00 00 00                      # 1  l_name "alice" (9)
  62 6f 62 00 00 00 00 00 00                      # 10 r_name "bob" (9)
  00                                              # 19 filler
  00 00 00 07                                     # 20 id_num 7, big-endian
  00 00 11 c9                                     # 24 pid 4553, big-endian
  74 74 79 70 31 00 00 00 00 00 00 00 00 00 00 00 # 28 r_tty "ttyp1" (16)
  00 02 ac 4f 0a 01 00 02 00 00 00 00 00 00 00 00 # 44 addr: family 2 BE, port 44111, 10.1.0.2, zero
  00 02 c5 d2 0a 01 00 02 00 00 00 00 00 00 00 00 # 60 ctl_addr: family 2 BE, port 50642, 10.1.0.2, zero
`);
const VAX_ANNOUNCE = hex(`
  03
  61 6c 69 63 65 00 00 00 00
  62 6f 62 00 00 00 00 00 00
  00
  07 00 00 00                                     # 20 id_num 7, little-endian
  c9 11 00 00                                     # 24 pid 4553, little-endian
  74 74 79 70 31 00 00 00 00 00 00 00 00 00 00 00
  02 00 ac 4f 0a 01 00 02 00 00 00 00 00 00 00 00 # 44 addr: family 2 LE; port/address still network order
  02 00 c5 d2 0a 01 00 02 00 00 00 00 00 00 00 00 # 60 ctl_addr: family 2 LE
`);

const fields = {
  type: 3,
  id: 7,
  addr: sockAddr('10.1.0.2', 44111),
  ctlAddr: sockAddr('10.1.0.2', 50642),
  pid: 4553,
  lName: 'alice',
  rName: 'bob',
  rTty: 'ttyp1',
};

test('hand-made otalk packets are 76 bytes', () => {
  assert.equal(SUN_ANNOUNCE.length, 76);
  assert.equal(VAX_ANNOUNCE.length, 76);
});

test('decodeOtalkCtlMsg() decodes a big-endian (Sun) ANNOUNCE and detects its order', () => {
  assert.deepEqual(decodeOtalkCtlMsg(SUN_ANNOUNCE), { byteOrder: 'big', ...fields });
});

test('decodeOtalkCtlMsg() decodes a little-endian (VAX) ANNOUNCE to the same fields', () => {
  assert.deepEqual(decodeOtalkCtlMsg(VAX_ANNOUNCE), { byteOrder: 'little', ...fields });
});

test('encodeOtalkCtlMsg() reproduces both hand-made packets byte for byte', () => {
  assert.deepEqual(encodeOtalkCtlMsg({ byteOrder: 'big', ...fields }), SUN_ANNOUNCE);
  assert.deepEqual(encodeOtalkCtlMsg({ byteOrder: 'little', ...fields }), VAX_ANNOUNCE);
});

test('the two byte orders differ exactly in id_num, pid and the two family fields', () => {
  const differ: number[] = [];
  for (let i = 0; i < 76; i++) if (SUN_ANNOUNCE[i] !== VAX_ANNOUNCE[i]) differ.push(i);
  // id_num 00000007/07000000, pid 000011c9/c9110000, families 0002/0200.
  assert.deepEqual(differ, [20, 23, 24, 25, 26, 27, 44, 45, 60, 61]);
});

test('detectOtalkByteOrder() falls back to addr.sin_family when ctl_addr.sin_family is neither', () => {
  const b = Uint8Array.from(VAX_ANNOUNCE);
  b[60] = 0;
  b[61] = 0; // ctl_addr family 0 (e.g. a client that left it unset)
  assert.equal(detectOtalkByteOrder(b), 'little');
  const m = decodeOtalkCtlMsg(b);
  assert.equal(m.byteOrder, 'little');
  assert.equal(m.id, 7);
  assert.equal(m.ctlAddr.family, 0);
  assert.deepEqual(encodeOtalkCtlMsg(m), b);
});

test('decodeOtalkCtlMsg() prefers ctl_addr over addr when they disagree', () => {
  const b = Uint8Array.from(SUN_ANNOUNCE);
  b.set([0x02, 0x00], 44); // addr family reads AF_INET little-endian...
  const m = decodeOtalkCtlMsg(b); // ...but ctl_addr says big
  assert.equal(m.byteOrder, 'big');
  assert.equal(m.addr.family, 0x0200);
});

test('decodeOtalkCtlMsg() throws DecodeError on ctl_addr.family when no family is AF_INET', () => {
  const b = Uint8Array.from(SUN_ANNOUNCE);
  b.set([0x00, 0x00], 44);
  b.set([0x02, 0x02], 60);
  assert.throws(
    () => decodeOtalkCtlMsg(b),
    (e: unknown) => e instanceof DecodeError && e.field === 'ctl_addr.family' && e.offset === 60,
  );
});

test('decodeOtalkCtlMsg() rejects 75, 77 and 84 bytes (an ntalk request)', () => {
  for (const n of [75, 77, 84]) {
    const b = new Uint8Array(n);
    b.set(SUN_ANNOUNCE.subarray(0, Math.min(n, 76)));
    assert.throws(() => decodeOtalkCtlMsg(b), (e: unknown) => e instanceof DecodeError && e.field === 'length');
  }
});

test('decodeOtalkCtlMsg() keeps only 8 chars of a 9-byte name with no NUL, and writes filler 0', () => {
  const b = Uint8Array.from(SUN_ANNOUNCE);
  b.set(Uint8Array.from('abcdefghi', (c) => c.charCodeAt(0)), 1);
  b[19] = 0xcc; // filler garbage
  const m: OtalkCtlMsg = decodeOtalkCtlMsg(b);
  assert.equal(m.lName, 'abcdefgh');
  assert.equal(encodeOtalkCtlMsg(m)[19], 0);
});

test('encodeOtalkCtlMsg() throws EncodeError for an unknown byte order', () => {
  const bad = { ...fields, byteOrder: 'pdp' } as unknown as OtalkCtlMsg;
  assert.throws(() => encodeOtalkCtlMsg(bad), (e: unknown) => e instanceof EncodeError && e.field === 'byteOrder');
});
