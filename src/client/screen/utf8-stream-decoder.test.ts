import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Utf8StreamDecoder } from './utf8-stream-decoder.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const cps = (s: string): number[] => [...s].map((c) => c.codePointAt(0) ?? 0);

test('Utf8StreamDecoder decodes accents, CJK and emoji split at every byte boundary', () => {
  const s = 'héllo 漢字 😀 ñ';
  const bytes = enc(s);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new Utf8StreamDecoder();
    const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
    assert.deepEqual(out, cps(s), `cut at ${cut}`);
    assert.equal(d.hasPending, false);
  }
});

test('Utf8StreamDecoder takes invalid bytes as Latin-1', () => {
  const d = new Utf8StreamDecoder();
  // Latin-1 "café" then a stray continuation, an overlong C0 80, a surrogate ED A0 80.
  assert.deepEqual(d.push(Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0x21)), [0x63, 0x61, 0x66, 0xe9, 0x21]);
  assert.deepEqual(d.push(Uint8Array.of(0x9b)), [0x9b]);
  assert.deepEqual(d.push(Uint8Array.of(0xc0, 0x80)), [0xc0, 0x80]);
  assert.deepEqual(d.push(Uint8Array.of(0xed, 0xa0, 0x80)), [0xed, 0xa0, 0x80]);
});

test('Utf8StreamDecoder holds an incomplete sequence until flush() gives it up as Latin-1', () => {
  const d = new Utf8StreamDecoder();
  assert.deepEqual(d.push(Uint8Array.of(0x61, 0xe6, 0xbc)), [0x61]);
  assert.equal(d.hasPending, true);
  assert.deepEqual(d.flush(), [0xe6, 0xbc]);
  assert.equal(d.hasPending, false);
});

test('Utf8StreamDecoder: any valid string round-trips, any bytes yield one code point per byte or a valid char', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (s) => {
      const d = new Utf8StreamDecoder();
      assert.deepEqual(d.push(enc(s)), cps(s));
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const d = new Utf8StreamDecoder();
      const out = [...d.push(b), ...d.flush()];
      // Re-encoding decoded chars (UTF-8 for ≥0x100 or multi-byte decodes) never produces more bytes than input.
      assert.ok(out.length <= b.length);
      for (const cp of out) assert.ok(cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff));
    }),
  );
});
