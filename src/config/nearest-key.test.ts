import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { editDistance, nearestKey } from './nearest-key.js';

test('editDistance() counts insertions, deletions, substitutions and neighbour swaps', () => {
  assert.equal(editDistance('mdoe', 'mode'), 1);
  assert.equal(editDistance('port', 'ports'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
});

test('nearestKey() suggests a close known key and nothing for a distant one', () => {
  assert.equal(nearestKey('port', ['ports', 'idle_timeout', 'sanitize']), 'ports');
  assert.equal(nearestKey('idle_timout', ['ports', 'idle_timeout']), 'idle_timeout');
  assert.equal(nearestKey('Max_Calls', ['max_calls', 'rate']), 'max_calls');
  assert.equal(nearestKey('listen_address', ['listen']), undefined);
  assert.equal(nearestKey('x', []), undefined);
});

test('editDistance() is symmetric, zero only on equal strings, and bounded by the longer length', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
      assert.equal(editDistance(a, b), editDistance(b, a));
      assert.equal(editDistance(a, b) === 0, a === b);
      assert.ok(editDistance(a, b) <= Math.max(a.length, b.length));
    }),
  );
});
