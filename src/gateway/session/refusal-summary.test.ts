import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalSummary } from './refusal-summary.js';

test('RefusalSummary: one opening per episode, then per-window counts by code; a quiet window ends the episode', () => {
  const s = new RefusalSummary<'a' | 'b'>(1_000);
  assert.equal(s.dueAt, undefined);
  assert.equal(s.record('a', 0), true, 'the first refusal opens the episode');
  for (let i = 0; i < 99; i++) assert.equal(s.record(i % 2 === 0 ? 'b' : 'a', 10 + i), false, 'later ones are only counted');
  assert.equal(s.take(999), undefined, 'nothing before the window ends');
  assert.deepEqual(s.take(1_000), { counts: { a: 50, b: 50 }, total: 100, windowMs: 1_000 });
  s.record('b', 1_500);
  assert.deepEqual(s.take(2_000), { counts: { b: 1 }, total: 1, windowMs: 1_000 });
  assert.equal(s.take(3_000), undefined, 'a quiet window');
  assert.equal(s.dueAt, undefined, 'closes the episode');
  assert.equal(s.record('a', 5_000), true, 'the next refusal opens a new one');
});

test('RefusalSummary: rejects a non-positive window', () => {
  assert.throws(() => new RefusalSummary(0), RangeError);
});
