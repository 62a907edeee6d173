import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './clock.js';
import { RateLimiter } from './rate-limiter.js';

test('RateLimiter allows a burst, then refills at the rate', () => {
  const clock = new ManualClock();
  const r = new RateLimiter({ clock, ratePerSecond: 2, burst: 3, maxKeys: 10 });
  assert.deepEqual([r.allow('a'), r.allow('a'), r.allow('a'), r.allow('a')], [true, true, true, false]);
  assert.equal(r.allow('b'), true, 'keys are independent');
  clock.advance(499);
  assert.equal(r.allow('a'), false);
  clock.advance(1);
  assert.equal(r.allow('a'), true, 'one token after 500 ms at 2/s');
  assert.equal(r.allow('a'), false);
});

test('RateLimiter keeps at most maxKeys buckets, evicting the least recently used', () => {
  const clock = new ManualClock();
  const r = new RateLimiter({ clock, ratePerSecond: 1, burst: 1, maxKeys: 2 });
  assert.equal(r.allow('a'), true);
  assert.equal(r.allow('b'), true);
  assert.equal(r.allow('a'), false);
  assert.equal(r.allow('c'), true);
  assert.equal(r.size, 2);
  assert.equal(r.allow('a'), false, 'a was used more recently than b, so b was evicted');
  assert.equal(r.allow('b'), true, 'b starts over with a full bucket');
});
