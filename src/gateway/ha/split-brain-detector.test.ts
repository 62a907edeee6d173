import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SplitBrainDetector } from './split-brain-detector.js';

test('SplitBrainDetector reports a second master once when it appears and once when it is gone', () => {
  const d = new SplitBrainDetector();
  assert.equal(d.observe(false), undefined);
  assert.equal(d.observe(true), 'detected');
  assert.equal(d.observe(true), undefined);
  assert.equal(d.split, true);
  assert.equal(d.observe(false), 'resolved');
  assert.equal(d.observe(true), 'detected');
  assert.equal(d.reset(), 'resolved');
  assert.equal(d.reset(), undefined);
});
