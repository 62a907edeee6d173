import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError, EncodeError } from './decode-error.js';
import {
  expectLength,
  isIPv4,
  parseIPv4,
  readFixedString,
  readI32,
  readIPv4,
  readU16,
  readU32,
  readU8,
  writeFixedString,
  writeI32,
  writeIPv4,
  writeU16,
  writeU32,
  writeU8,
} from './wire.js';

function decodeErrorAt(field: string, offset: number) {
  return (e: unknown) => e instanceof DecodeError && e.field === field && e.offset === offset;
}

test('readU16/readU32/readI32() honour the byte order', () => {
  const b = new Uint8Array([0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfe]);
  assert.equal(readU16(b, 0, 'big', 'x'), 0x0102);
  assert.equal(readU16(b, 0, 'little', 'x'), 0x0201);
  assert.equal(readU32(b, 0, 'big', 'x'), 0x01020304);
  assert.equal(readU32(b, 0, 'little', 'x'), 0x04030201);
  assert.equal(readU32(b, 4, 'big', 'x'), 0xfffffffe);
  assert.equal(readI32(b, 4, 'big', 'x'), -2);
  assert.equal(readI32(b, 4, 'little', 'x'), -0x01000001);
  assert.equal(readU8(b, 7, 'x'), 0xfe);
});

test('readers honour the view offset of a subarray', () => {
  const b = new Uint8Array([9, 9, 0x00, 0x02, 9]).subarray(2, 4);
  assert.equal(readU16(b, 0, 'big', 'family'), 2);
  assert.throws(() => readU8(b, 2, 'x'), decodeErrorAt('x', 2));
});

test('every reader throws DecodeError(field, offset) past the end, before reading', () => {
  const b = new Uint8Array(4);
  assert.throws(() => readU8(b, 4, 'type'), decodeErrorAt('type', 4));
  assert.throws(() => readU16(b, 3, 'big', 'port'), decodeErrorAt('port', 3));
  assert.throws(() => readU32(b, 1, 'little', 'id_num'), decodeErrorAt('id_num', 1));
  assert.throws(() => readI32(b, 2, 'big', 'pid'), decodeErrorAt('pid', 2));
  assert.throws(() => readIPv4(b, 1, 'addr.address'), decodeErrorAt('addr.address', 1));
  assert.throws(() => readFixedString(b, 0, 5, 'l_name'), decodeErrorAt('l_name', 0));
  assert.throws(() => readU8(b, -1, 'x'), DecodeError);
  assert.throws(() => readU8(b, 0.5, 'x'), DecodeError);
});

test('expectLength() throws DecodeError on field length for any other size', () => {
  expectLength(new Uint8Array(24), 24, 'x');
  assert.throws(() => expectLength(new Uint8Array(23), 24, 'x'), decodeErrorAt('length', 0));
  assert.throws(() => expectLength(new Uint8Array(25), 24, 'x'), /exactly 24 bytes, got 25/);
});

test('writers round-trip through readers in both byte orders', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<'big' | 'little'>('big', 'little'),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
      (order, u16, u32, i32) => {
        const b = new Uint8Array(10);
        writeU16(b, 0, u16, order, 'a');
        writeU32(b, 2, u32, order, 'b');
        writeI32(b, 6, i32, order, 'c');
        assert.equal(readU16(b, 0, order, 'a'), u16);
        assert.equal(readU32(b, 2, order, 'b'), u32);
        assert.equal(readI32(b, 6, order, 'c'), i32);
      },
    ),
  );
});

test('writers throw EncodeError for out-of-range values and out-of-bounds offsets', () => {
  const b = new Uint8Array(4);
  assert.throws(() => writeU8(b, 0, 256, 'type'), (e: unknown) => e instanceof EncodeError && e.field === 'type');
  assert.throws(() => writeU8(b, 0, -1, 'type'), EncodeError);
  assert.throws(() => writeU16(b, 0, 0x10000, 'big', 'port'), EncodeError);
  assert.throws(() => writeU32(b, 0, 2 ** 32, 'big', 'id'), EncodeError);
  assert.throws(() => writeU32(b, 0, 1.5, 'big', 'id'), EncodeError);
  assert.throws(() => writeI32(b, 0, 2 ** 31, 'big', 'pid'), EncodeError);
  assert.throws(() => writeI32(b, 0, -(2 ** 31) - 1, 'big', 'pid'), EncodeError);
  assert.throws(() => writeU32(b, 1, 0, 'big', 'id'), EncodeError);
  assert.throws(() => writeU8(b, 4, 0, 'x'), EncodeError);
  assert.deepEqual(b, new Uint8Array(4), 'nothing was written');
});

test('readFixedString() stops at the first NUL and always treats the last byte as NUL', () => {
  const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  assert.equal(readFixedString(enc('bob\0xyz\0'), 0, 8, 'n'), 'bob');
  assert.equal(readFixedString(enc('abcdefgh'), 0, 8, 'n'), 'abcdefg', 'no NUL at all: size - 1 chars');
  assert.equal(readFixedString(enc('\0abc'), 0, 4, 'n'), '');
  assert.equal(readFixedString(new Uint8Array([0xe9, 0x1b, 0]), 0, 3, 'n'), '\u00e9\u001b', 'latin1, not UTF-8');
});

test('writeFixedString() pads with NUL and rejects too long, non-latin1 and NUL chars', () => {
  const b = new Uint8Array(6).fill(0xee);
  writeFixedString(b, 1, 5, 'ab\u00ff', 'n');
  assert.deepEqual([...b], [0xee, 0x61, 0x62, 0xff, 0, 0]);
  writeFixedString(b, 1, 5, 'abcd', 'n');
  assert.deepEqual([...b], [0xee, 0x61, 0x62, 0x63, 0x64, 0]);
  assert.throws(() => writeFixedString(b, 1, 5, 'abcde', 'l_name'), (e: unknown) => e instanceof EncodeError && e.field === 'l_name');
  assert.throws(() => writeFixedString(b, 1, 5, 'a\u0100', 'n'), /not latin1/);
  assert.throws(() => writeFixedString(b, 1, 5, 'a\0b', 'n'), /NUL/);
});

test('readFixedString(writeFixedString(s)) is s for any latin1 string without NUL that fits', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: 11 }), (codes) => {
      const s = String.fromCharCode(...codes);
      const b = new Uint8Array(12);
      writeFixedString(b, 0, 12, s, 'n');
      assert.equal(readFixedString(b, 0, 12, 'n'), s);
    }),
  );
});

test('IPv4 dotted quads round-trip and malformed ones are rejected', () => {
  const b = new Uint8Array(4);
  writeIPv4(b, 0, '198.51.100.2', 'ip');
  assert.deepEqual([...b], [198, 51, 100, 2]);
  assert.equal(readIPv4(b, 0, 'ip'), '198.51.100.2');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '::1', 'a.b.c.d', '1.2.3.4\n']) {
    assert.equal(isIPv4(bad), false, bad);
    assert.equal(parseIPv4(bad), undefined, bad);
    assert.throws(() => writeIPv4(b, 0, bad, 'ip'), EncodeError, bad);
  }
  assert.equal(isIPv4('0.0.0.0'), true);
  assert.equal(isIPv4('255.255.255.255'), true);
});
