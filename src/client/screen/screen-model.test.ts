import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScreenModel, displayWidth, layoutFor } from './screen-model.js';
import { DEFAULT_EDIT_CHARS } from './edit-chars.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function model(rows: number, cols: number): ScreenModel {
  const m = new ScreenModel({ rows, cols, ownEditChars: DEFAULT_EDIT_CHARS });
  m.peerBytes(Uint8Array.of(0x7f, 0x15, 0x17));
  return m;
}

test('ScreenModel puts own text above the rule and the peer text below, every row exactly cols wide', () => {
  const m = model(8, 20);
  m.ownBytes(bytes('hello\rsecond'));
  m.peerBytes(bytes('hi there\n'));
  m.setStatus('[Connection established]');
  const f = m.frame();
  assert.equal(f.rows.length, 8);
  assert.deepEqual(f.rows.map((r) => r.trimEnd()), ['[Connection establis', 'hello', 'second', '', '-'.repeat(20), 'hi there', '', '']);
  for (const r of f.rows) assert.equal(displayWidth(r), 20);
  assert.deepEqual([f.cursorRow, f.cursorCol], [2, 6]);
});

test('ScreenModel wraps long lines and scrolls each half independently', () => {
  const m = model(8, 12);
  m.ownBytes(bytes('abcdefghijklmnopqrstuvwxyz'));
  m.peerBytes(bytes('1\n2\n3\n4\n5'));
  const f = m.frame();
  const l = layoutFor(8);
  assert.deepEqual(f.rows.slice(l.ownTop, l.ownTop + l.ownRows).map((r) => r.trimEnd()), ['abcdefghijkl', 'mnopqrstuvwx', 'yz']);
  assert.deepEqual(f.rows.slice(l.peerTop).map((r) => r.trimEnd()), ['3', '4', '5']);
});

test('ScreenModel keeps CJK and emoji whole: a wide char never straddles a row end', () => {
  const m = model(6, 13);
  m.peerBytes(bytes('漢字かな交じり文😀x'));
  const f = m.frame();
  const peerRows = f.rows.slice(layoutFor(6).peerTop);
  assert.deepEqual(peerRows.map((r) => r.trimEnd()), ['漢字かな交じ', 'り文😀x']);
  for (const r of f.rows) assert.equal(displayWidth(r), 13);
});

test('ScreenModel re-lays out both halves on resize', () => {
  const m = model(9, 40);
  m.ownBytes(bytes('the quick brown fox jumps over the lazy dog'));
  m.peerBytes(bytes('peer line one\npeer line two'));
  const before = m.frame();
  assert.equal(before.rows[1]?.trimEnd(), 'the quick brown fox jumps over the lazy');
  m.resize(13, 16);
  const f = m.frame();
  const l = layoutFor(13);
  assert.equal(f.rows.length, 13);
  assert.equal(f.rows[l.ruleRow], '-'.repeat(16));
  assert.deepEqual(f.rows.slice(l.ownTop, l.ownTop + l.ownRows).map((r) => r.trimEnd()).filter(Boolean), [
    'the quick brown',
    'fox jumps over t',
    'he lazy dog',
  ]);
  assert.deepEqual(f.rows.slice(l.peerTop).map((r) => r.trimEnd()).filter(Boolean), ['peer line one', 'peer line two']);
  for (const r of f.rows) assert.equal(displayWidth(r), 16);
  m.resize(2, 5);
  assert.equal(m.frame().rows.length, 2);
});

test('ScreenModel frame never contains a raw control from the peer', () => {
  const m = model(6, 30);
  m.peerBytes(Uint8Array.from([...bytes('\x1b]0;pwned\x07\x1b[2J'), 0xc2, 0x9b, 0x31, 0x6d]));
  const text = m.frame().rows.join('\n');
  assert.ok(!/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(text), JSON.stringify(text));
  assert.match(text, /\^\[\]0;pwned\^\[\[2J\\x9b1m/);
});

test('ScreenModel shows a classic peer Latin-1 text readably (invalid UTF-8 falls back to Latin-1), UTF-8 as UTF-8', () => {
  const m = model(8, 30);
  // A classic (8-bit, Latin-1 terminal) peer types "café crème" then a UTF-8 peer line follows.
  m.peerBytes(Uint8Array.of(...bytes('caf'), 0xe9, 0x20, ...bytes('cr'), 0xe8, ...bytes('me\n')));
  m.peerBytes(bytes('déjà vu\n'));
  const rows = m.frame().rows.slice(layoutFor(8).peerTop).map((r) => r.trimEnd());
  assert.deepEqual(rows.slice(0, 2), ['café crème', 'déjà vu']);
});
