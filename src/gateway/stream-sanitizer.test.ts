import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StreamSanitizer, MAX_ESCAPE_SEQUENCE_BYTES } from './stream-sanitizer.js';

const enc = new TextEncoder();
const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(enc.encode(p)) : Buffer.from(p))));

function sanitizeAll(input: Uint8Array, cuts: number[] = [], editChars?: Uint8Array): Buffer {
  const s = new StreamSanitizer(editChars === undefined ? {} : { editChars });
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, input.length]) {
    out.push(Uint8Array.from(s.push(input.subarray(prev, p))));
    prev = p;
  }
  out.push(s.flush());
  return Buffer.concat(out);
}

/** Every code point the decoded output contains (invalid bytes decode to U+FFFD). */
function codePoints(b: Uint8Array): number[] {
  return [...new TextDecoder('utf-8', { fatal: false }).decode(b)].map((c) => c.codePointAt(0)!);
}

test('StreamSanitizer renders ESC of a CSI sequence as ^[', () => {
  assert.equal(sanitizeAll(bytes([0x1b], '[2J', 'hi')).toString('latin1'), '^[[2Jhi');
});

test('StreamSanitizer renders the BEL terminator of an OSC string but keeps a lone BEL', () => {
  assert.equal(sanitizeAll(bytes([0x1b], ']0;pwned', [0x07], 'x', [0x07])).toString('latin1'), '^[]0;pwned^Gx\x07');
});

test('StreamSanitizer renders ESC \\ (ST) ending a DCS string', () => {
  assert.equal(sanitizeAll(bytes([0x1b], 'Pq#0', [0x1b], '\\ok')).toString('latin1'), '^[Pq#0^[\\ok');
});

test('StreamSanitizer neutralises raw C1 bytes and UTF-8 encoded C1 code points', () => {
  assert.equal(sanitizeAll(bytes([0x9b], '31m', [0xc2, 0x9b], 'x')).toString('latin1'), '^[[31m^[[x');
});

test('StreamSanitizer renders dangerous C0 controls as ^X and keeps TAB LF CR BEL BS', () => {
  assert.equal(sanitizeAll(bytes([0x00, 0x05, 0x0e, 0x09, 0x0a, 0x0d, 0x07, 0x08])).toString('latin1'), '^@^E^N\t\n\r\x07\b');
});

test('StreamSanitizer keeps the sender edit characters but never ESC', () => {
  const edit = Uint8Array.from([0x15, 0x17, 0x1b]);
  assert.equal(sanitizeAll(bytes([0x15, 0x17, 0x1b, 0x7f]), [], edit).toString('latin1'), '\x15\x17^[\x7f');
  assert.equal(sanitizeAll(bytes([0x15, 0x17])).toString('latin1'), '^U^W');
});

test('StreamSanitizer passes a 4-byte emoji split across chunks untouched', () => {
  const emoji = bytes('a😀b');
  for (let cut = 0; cut <= emoji.length; cut++) {
    assert.deepEqual(sanitizeAll(emoji, [cut]), Buffer.from(emoji));
  }
});

test('StreamSanitizer passes Latin-1 bytes that are not UTF-8 and neutralises stray C1 continuations', () => {
  assert.deepEqual(sanitizeAll(bytes([0xe9, 0x41, 0xff, 0xe2, 0x85])), Buffer.from([0xe9, 0x41, 0xff, 0xe2, 0x5e, 0x5b, 0x45]));
});

test('StreamSanitizer stops tracking an unterminated string after MAX_ESCAPE_SEQUENCE_BYTES', () => {
  const body = 'a'.repeat(MAX_ESCAPE_SEQUENCE_BYTES + 10);
  const out = sanitizeAll(bytes([0x1b], ']', body, [0x07])).toString('latin1');
  assert.equal(out, `^[]${body}\x07`);
});

test('StreamSanitizer.push returns the very chunk when nothing needs changing', () => {
  const s = new StreamSanitizer();
  const chunk = bytes('hello world\n');
  assert.equal(s.push(chunk), chunk);
});

const anyBytes = fc.uint8Array({ maxLength: 300 });
const dangerousMix = fc
  .array(
    fc.oneof(
      fc.constantFrom([0x1b], [0x1b, 0x5b], [0x1b, 0x5d], [0x1b, 0x50], [0x1b, 0x5c], [0x9b], [0xc2, 0x9b], [0xc2], [0xf0, 0x9f], [0x07], [0x0a]),
      fc.uint8Array({ maxLength: 8 }).map((u) => [...u]),
      fc.string({ unit: 'grapheme', maxLength: 4 }).map((s) => [...enc.encode(s)]),
    ),
    { maxLength: 60 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));
const cutsArb = fc.array(fc.nat(), { maxLength: 10 });
const editArb = fc.uint8Array({ minLength: 3, maxLength: 3 });

test('StreamSanitizer output never contains ESC or a C1 code point (property)', () => {
  fc.assert(
    fc.property(fc.oneof(anyBytes, dangerousMix), cutsArb, editArb, (input, cuts, edit) => {
      const out = sanitizeAll(input, cuts, edit);
      assert.equal(out.includes(0x1b), false);
      for (const cp of codePoints(out)) assert.ok(cp < 0x80 || cp > 0x9f, `C1 U+${cp.toString(16)}`);
    }),
    { numRuns: 2000 },
  );
});

test('StreamSanitizer output does not depend on how the input is chunked (property)', () => {
  fc.assert(
    fc.property(fc.oneof(anyBytes, dangerousMix), cutsArb, editArb, (input, cuts, edit) => {
      assert.deepEqual(sanitizeAll(input, cuts, edit), sanitizeAll(input, [], edit));
    }),
    { numRuns: 2000 },
  );
});

test('StreamSanitizer passes printable text and valid UTF-8 byte-identical (property)', () => {
  const printable = fc
    .string({ unit: 'binary', maxLength: 200 })
    .map((s) => s.replace(/[\u0000-\u0006\u000b\u000c\u000e-\u001f\u007f-\u009f]/gu, ''));
  fc.assert(
    fc.property(printable, cutsArb, (text, cuts) => {
      const input = enc.encode(text);
      assert.deepEqual(sanitizeAll(input, cuts), Buffer.from(input));
    }),
    { numRuns: 2000 },
  );
});

test('StreamSanitizer bulk fast path equals byte-at-a-time state machine (property)', () => {
  fc.assert(
    fc.property(fc.oneof(anyBytes, dangerousMix), editArb, (input, edit) => {
      const everyByte = Array.from({ length: input.length }, (_, k) => k);
      assert.deepEqual(sanitizeAll(input, [], edit), sanitizeAll(input, everyByte, edit));
    }),
    { numRuns: 2000 },
  );
});
