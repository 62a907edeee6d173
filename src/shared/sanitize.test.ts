import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPrintableName, sanitizeText } from './sanitize.js';

const PRINTABLE = /^[\x20-\x7e]*$/;

test('sanitizeText() keeps printable ASCII unchanged', () => {
  const all = Array.from({ length: 0x5f }, (_, i) => String.fromCharCode(0x20 + i)).join('');
  assert.equal(sanitizeText(all), all);
});

test('sanitizeText() shows C0 controls and DEL in caret notation', () => {
  assert.equal(sanitizeText('\x1b'), '^[');
  assert.equal(sanitizeText('\x7f'), '^?');
  assert.equal(sanitizeText('\x00\x07\x0a\x0d\x1f'), '^@^G^J^M^_');
});

test('sanitizeText() defuses a "flash" terminal-title/escape attack in a login name', () => {
  assert.equal(sanitizeText('\x1b]0;pwned\x07\x1b[2J\x9b31m'), '^[]0;pwned^G^[[2J\\x9b31m');
});

test('sanitizeText() escapes 0x80–0xFF as \\xhh and chars above U+00FF as \\u{hhhh}', () => {
  assert.equal(sanitizeText('caf\u00e9'), 'caf\\xe9');
  assert.equal(sanitizeText('\u2603'), '\\u{2603}');
  assert.equal(sanitizeText('\u{1f600}'), '\\u{1f600}');
  assert.equal(sanitizeText('\ud800x'), '\\u{d800}x', 'a lone surrogate');
});

test('sanitizeText() reads a Uint8Array byte by byte, never as UTF-8', () => {
  assert.equal(sanitizeText(Uint8Array.from([0x61, 0x00, 0x1b, 0xc3, 0xa9, 0x7f, 0xff])), 'a^@^[\\xc3\\xa9^?\\xff');
  assert.equal(sanitizeText(new Uint8Array(0)), '');
});

test('sanitizeText() output is printable ASCII for any input, and bytes and latin1 strings agree', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const out = sanitizeText(bytes);
      assert.match(out, PRINTABLE);
      assert.equal(sanitizeText(String.fromCharCode(...bytes)), out);
    }),
  );
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => assert.match(sanitizeText(s), PRINTABLE)));
});

test('isPrintableName() accepts visible ASCII only and rejects the empty name', () => {
  assert.equal(isPrintableName('alice'), true);
  assert.equal(isPrintableName('pts/3'), true);
  assert.equal(isPrintableName('~!'), true);
  for (const bad of ['', 'a b', 'a\x1b', 'caf\u00e9', 'a\x7f', '\u2603', 'a\0']) assert.equal(isPrintableName(bad), false, JSON.stringify(bad));
});
