import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALWAYS_KEPT_C0, SCAN_WINDOW_BYTES, UnsafeC0Finder, findUnsafeC0Swar, simdScanAvailable } from './find-unsafe-c0.js';

/** The definition, byte by byte. */
function reference(chunk: Uint8Array, from: number, to: number, keep: Uint8Array): number {
  for (let i = from; i < to; i++) {
    const b = chunk[i]!;
    if (b < 0x20 && !ALWAYS_KEPT_C0.includes(b) && keep[b] !== 1) return i;
  }
  return to;
}

function unsafeTable(keep: Uint8Array): Uint8Array {
  const t = new Uint8Array(32);
  for (let b = 0; b < 32; b++) t[b] = b < 0x20 && !ALWAYS_KEPT_C0.includes(b) && keep[b] !== 1 ? 1 : 0;
  return t;
}

/** Mostly printable bytes with sparse controls, placed at an arbitrary (often unaligned) offset. */
const chunkArb = fc
  .record({
    pad: fc.nat({ max: 7 }),
    len: fc.oneof(fc.nat({ max: 100 }), fc.nat({ max: 3000 }), fc.constant(SCAN_WINDOW_BYTES + 37)),
    marks: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 0x1f })), { maxLength: 6 }),
    fill: fc.constantFrom(0x41, 0x09, 0x0a, 0xe9, 0x7f),
  })
  .map(({ pad, len, marks, fill }) => {
    const buf = new Uint8Array(pad + len).fill(fill);
    for (const [at, b] of marks) if (len > 0) buf[pad + (at % len)] = b;
    return buf.subarray(pad);
  });
const keepArb = fc.uint8Array({ minLength: 32, maxLength: 32, max: 1 });

test('simdScanAvailable() is true on this Node (WebAssembly SIMD)', () => {
  assert.equal(simdScanAvailable(), true);
});

test('UnsafeC0Finder.find() names the first C0 to render', () => {
  const f = new UnsafeC0Finder(new Uint8Array(32));
  assert.equal(f.find(Buffer.from('ab\tc\x1bd'), 0, 6), 4);
  assert.equal(f.find(Buffer.from('\t\r\n\x07\x08 text'), 0, 10), 10);
  const big = new Uint8Array(100_000).fill(0x61);
  big[70_000] = 0x1b;
  big[99_999] = 0x01;
  assert.equal(f.find(big, 0, big.length), 70_000);
  assert.equal(f.find(big, 70_001, big.length), 99_999);
  assert.equal(f.find(big, 70_001, 99_999), 99_999);
});

test('UnsafeC0Finder keeps the edit characters it was given, never more', () => {
  const keep = new Uint8Array(32);
  keep[0x15] = 1;
  const f = new UnsafeC0Finder(keep);
  assert.equal(f.find(Buffer.from('a\x15b\x17c'), 0, 5), 3);
});

test('UnsafeC0Finder.find() and findUnsafeC0Swar() agree with the byte-wise definition (property)', () => {
  fc.assert(
    fc.property(chunkArb, keepArb, fc.nat(), fc.nat(), (chunk, keep, a, b) => {
      const x = chunk.length === 0 ? 0 : a % (chunk.length + 1);
      const y = chunk.length === 0 ? 0 : b % (chunk.length + 1);
      const [from, to] = x <= y ? [x, y] : [y, x];
      const want = reference(chunk, from, to, keep);
      UnsafeC0Finder.forget();
      assert.equal(new UnsafeC0Finder(keep).find(chunk, from, to), want);
      assert.equal(findUnsafeC0Swar(chunk, from, to, unsafeTable(keep)), want);
    }),
    { numRuns: 1500 },
  );
});

test('Two finders with different edit characters share the instance without mixing tables', () => {
  const keepA = new Uint8Array(32);
  keepA[0x15] = 1;
  const a = new UnsafeC0Finder(keepA);
  const b = new UnsafeC0Finder(new Uint8Array(32));
  const chunk = new Uint8Array(4096).fill(0x41);
  chunk[1000] = 0x15;
  chunk[3000] = 0x1b;
  UnsafeC0Finder.forget();
  assert.equal(a.find(chunk, 0, chunk.length), 3000);
  assert.equal(b.find(chunk, 0, chunk.length), 1000);
  assert.equal(a.find(chunk, 0, chunk.length), 3000);
});
