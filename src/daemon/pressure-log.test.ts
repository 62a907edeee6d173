import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../shared/clock.js';
import { PressureLog } from './pressure-log.js';

function log(clock: ManualClock, over: { sampled?: number; tracked?: number } = {}): PressureLog {
  return new PressureLog({ clock, intervalMs: 10_000, maxSampledSources: over.sampled ?? 2, maxTrackedSources: over.tracked ?? 3 });
}

test('PressureLog.note() answers true only for the first event of each code in a window', () => {
  const clock = new ManualClock();
  const p = log(clock);
  assert.equal(p.note('malformed', 'a', 'r1'), true);
  assert.equal(p.note('malformed', 'b', 'r2'), false);
  assert.equal(p.note('table-full', 'a', 'r3'), true);
  assert.equal(p.note('table-full', 'a', 'r4'), false);
  assert.equal(p.takeDue(), undefined, 'not due before the interval');
  clock.advance(10_000);
  assert.deepEqual(p.takeDue(), {
    windowMs: 10_000,
    counts: { malformed: 2, 'table-full': 2 },
    sources: 2,
    sourcesCapped: false,
    sampled: ['a', 'b'],
    firstReqId: 'r1',
    lastReqId: 'r4',
  });
  assert.equal(p.dueAt, undefined, 'the window closed');
  assert.equal(p.note('malformed', 'a', 'r5'), true, 'a new window logs its first event in full again');
});

test('PressureLog.take() has no summary when every event was logged in full', () => {
  const p = log(new ManualClock());
  p.note('malformed', 'a', 'r1');
  p.note('share-replaced', 'a', 'r2');
  assert.equal(p.take(), undefined);
});

test('PressureLog bounds its sources: sampled and tracked caps, capped flag (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.ipV4(), { minLength: 1, maxLength: 300 }), (sources) => {
      const clock = new ManualClock();
      const p = log(clock, { sampled: 2, tracked: 3 });
      sources.forEach((s, i) => p.note('malformed', s, `r${i}`));
      p.note('malformed', 'extra', 'rx');
      const s = p.take();
      const distinct = new Set([...sources, 'extra']).size;
      return (
        s !== undefined &&
        s.counts.malformed === sources.length + 1 &&
        s.sources === Math.min(3, distinct) &&
        s.sampled.length === Math.min(2, distinct) &&
        s.sourcesCapped === distinct > 3
      );
    }),
    { numRuns: 100 },
  );
});
