import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScreenModel, layoutFor } from './screen-model.js';
import { DEFAULT_EDIT_CHARS } from './edit-chars.js';
import { renderTranscript } from './transcript.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A model whose peer already sent its 3 edit characters (DEL, ^U, ^W). */
function model(rows: number, cols: number): ScreenModel {
  const m = new ScreenModel({ rows, cols, ownEditChars: DEFAULT_EDIT_CHARS });
  m.peerBytes(Uint8Array.of(0x7f, 0x15, 0x17));
  return m;
}

test('renderTranscript() keeps both halves: own lines, the rule, the peer lines, without trailing blanks', () => {
  const m = model(10, 20);
  m.ownBytes(bytes('hello from alice\rsecond line\r'));
  m.peerBytes(bytes('hi alice, bob here\n'));
  m.setStatus('[Connection established]');
  assert.deepEqual(renderTranscript(m), ['hello from alice', 'second line', '-'.repeat(20), 'hi alice, bob here']);
});

test('renderTranscript() shows the last screenful of each half, wrapped as on the screen', () => {
  const m = model(8, 12);
  const l = layoutFor(8);
  m.ownBytes(bytes('1\r2\r3\r4\rabcdefghijklmnop'));
  m.peerBytes(bytes('a\nb\nc\nd\ne\nf'));
  const t = renderTranscript(m);
  assert.deepEqual(t, ['4', 'abcdefghijkl', 'mnop', '-'.repeat(12), 'd', 'e', 'f']);
  assert.equal(t.indexOf('-'.repeat(12)), l.ownRows);
});

test('renderTranscript() is empty when nobody typed (nothing to keep), and keeps one half when only one spoke', () => {
  assert.deepEqual(renderTranscript(model(24, 80)), []);
  const m = model(6, 16);
  m.peerBytes(bytes('only bob spoke'));
  assert.deepEqual(renderTranscript(m), ['-'.repeat(16), 'only bob spoke']);
});

test('renderTranscript() prints what the panes show for hostile peer bytes: ESC, CSI, C1 and bidi controls stay visible text', () => {
  const m = model(8, 40);
  m.peerBytes(bytes('a\x1b]0;pwned\x07b\x1b[2Jc\u009bd\u202ee'));
  const t = renderTranscript(m);
  assert.deepEqual(t.slice(-1), ['a^[]0;pwnedb^[[2Jc\\x9bd<U+202E>e']);
});

test('renderTranscript() uses the smallest usable layout for a window too small to show the halves', () => {
  const m = model(2, 5);
  m.ownBytes(bytes('mine'));
  m.peerBytes(bytes('theirs'));
  assert.deepEqual(renderTranscript(m, { ruleChar: '=' }), ['mine', '='.repeat(12), 'theirs']);
});

test('renderTranscript() never yields a control character and never more rows than the screen, whatever the peer sends (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 100 }), (own, peer, rows, cols) => {
      const m = model(rows, cols);
      m.ownBytes(own);
      m.peerBytes(peer);
      m.peer.flush();
      const t = renderTranscript(m);
      assert.ok(t.length <= Math.max(rows, 4) - 1);
      for (const line of t) assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f]/);
    }),
    { numRuns: 300 },
  );
});
