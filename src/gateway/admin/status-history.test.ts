import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StatusHistory } from './status-history.js';

test('StatusHistory turns totals into per-interval refusals and bytes per second', () => {
  const h = new StatusHistory();
  h.record({ t: 0, liveCalls: 0, refusedTotal: 5, bytesInTotal: 100, bytesOutTotal: 0 });
  h.record({ t: 10_000, liveCalls: 2, refusedTotal: 7, bytesInTotal: 1_100, bytesOutTotal: 500 });
  h.record({ t: 20_000, liveCalls: 1, refusedTotal: 1, bytesInTotal: 1_100, bytesOutTotal: 500 });
  assert.deepEqual(h.series(), { t: [10, 20], calls: [2, 1], refusals: [2, 1], bytesInPerSecond: [100, 0], bytesOutPerSecond: [50, 0] });
});

test('StatusHistory keeps at most its capacity, newest last, with no negative rate', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ r: fc.nat(1_000), b: fc.nat(1_000_000) }), { maxLength: 50 }), (xs) => {
      const h = new StatusHistory(8);
      xs.forEach((x, i) => h.record({ t: i * 10_000, liveCalls: i, refusedTotal: x.r, bytesInTotal: x.b, bytesOutTotal: x.b }));
      const s = h.series();
      assert.equal(s.t.length, Math.min(8, Math.max(0, xs.length - 1)));
      assert.ok([...s.refusals, ...s.bytesInPerSecond].every((v) => v >= 0));
      if (xs.length > 1) assert.equal(s.calls.at(-1), xs.length - 1);
    }),
  );
});
