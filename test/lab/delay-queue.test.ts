/**
 * The delay line's queue as a value machine: random arrivals and release times (fast-check), with
 * the order, the delay, the bounds and the drop counts checked against a plain model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DelayQueue } from './delay-queue.js';

/** One step of a run: a frame of `size` bytes arrives `gap` ms after the previous step, or the owner polls. */
type Step = { kind: 'frame'; gap: number; size: number } | { kind: 'poll'; gap: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('frame' as const), gap: fc.double({ min: 0, max: 20, noNaN: true }), size: fc.integer({ min: 0, max: 1600 }) }),
  fc.record({ kind: fc.constant('poll' as const), gap: fc.double({ min: 0, max: 20, noNaN: true }) }),
);
const limitsArb = fc.record({
  delayMs: fc.double({ min: 0, max: 50, noNaN: true }),
  maxFrames: fc.integer({ min: 1, max: 16 }),
  maxBytes: fc.integer({ min: 1, max: 8000 }),
});

/** A frame carrying its sequence number in its first bytes (at least 4 bytes long). */
function frame(seq: number, size: number): Uint8Array {
  const f = new Uint8Array(Math.max(4, size));
  new DataView(f.buffer).setUint32(0, seq);
  return f;
}
const seqOf = (f: Uint8Array): number => new DataView(f.buffer, f.byteOffset).getUint32(0);

test('frames come out in the order they went in, none earlier than the delay, and every frame is released or counted as dropped', () => {
  fc.assert(
    fc.property(limitsArb, fc.array(stepArb, { maxLength: 80 }), (limits, steps) => {
      const q = new DelayQueue(limits);
      const arrived = new Map<number, number>();
      const released: number[] = [];
      let now = 0;
      let seq = 0;
      let refused = 0;
      let refusedBytes = 0;
      const take = (t: number): void => {
        for (const f of q.due(t)) {
          const s = seqOf(f);
          const at = arrived.get(s);
          assert.ok(at !== undefined, `frame ${s} released but never accepted`);
          assert.ok(t >= at + limits.delayMs, `frame ${s} released at ${t}, before ${at} + ${limits.delayMs}`);
          released.push(s);
        }
      };
      for (const st of steps) {
        now += st.gap;
        if (st.kind === 'poll') {
          take(now);
          continue;
        }
        const f = frame(seq, st.size);
        const before = q.stats();
        const fits = before.queued < limits.maxFrames && before.queuedBytes + f.byteLength <= limits.maxBytes;
        assert.equal(q.push(f, now), fits, 'a frame is refused exactly when it would exceed a bound');
        if (fits) arrived.set(seq, now);
        else {
          refused++;
          refusedBytes += f.byteLength;
        }
        const s = q.stats();
        assert.ok(s.queued <= limits.maxFrames && s.queuedBytes <= limits.maxBytes, 'bounds held');
        seq++;
      }
      take(now + limits.delayMs);
      assert.deepEqual(released, [...arrived.keys()], 'all accepted frames released, in order');
      const s = q.stats();
      assert.equal(s.dropped, refused);
      assert.equal(s.droppedBytes, refusedBytes);
      assert.equal(s.accepted, arrived.size);
      assert.equal(s.released, arrived.size);
      assert.equal(s.queued, 0);
      assert.equal(s.queuedBytes, 0);
      assert.equal(q.nextDueAt(), undefined);
    }),
  );
});

test('the head is due exactly the delay after it arrived, and nothing is released a moment before', () => {
  fc.assert(
    fc.property(fc.double({ min: 0.5, max: 100, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (delayMs, t0) => {
      const q = new DelayQueue({ delayMs, maxFrames: 4, maxBytes: 10_000 });
      q.push(frame(1, 60), t0);
      assert.equal(q.nextDueAt(), t0 + delayMs);
      assert.equal(q.due(t0 + delayMs - 0.25).length, 0);
      assert.equal(q.due(t0 + delayMs).length, 1);
    }),
  );
});

test('a full queue drops and counts the frames beyond its bounds and takes frames again once it drained', () => {
  const q = new DelayQueue({ delayMs: 10, maxFrames: 2, maxBytes: 1000 });
  assert.equal(q.push(frame(0, 100), 0), true);
  assert.equal(q.push(frame(1, 100), 0), true);
  assert.equal(q.push(frame(2, 100), 0), false, 'third frame beyond maxFrames');
  assert.equal(q.due(10).length, 2);
  assert.equal(q.push(frame(3, 600), 11), true);
  assert.equal(q.push(frame(4, 500), 11), false, 'beyond maxBytes');
  assert.deepEqual(q.stats(), { accepted: 3, released: 2, dropped: 2, droppedBytes: 600, queued: 1, queuedBytes: 600, maxQueued: 2 });
});

test('a clock that steps back never lets a later frame overtake an earlier one', () => {
  const q = new DelayQueue({ delayMs: 10, maxFrames: 4, maxBytes: 1000 });
  q.push(frame(0, 10), 100);
  q.push(frame(1, 10), 50);
  assert.deepEqual(q.due(109).map(seqOf), []);
  assert.deepEqual(q.due(110).map(seqOf), [0, 1]);
});

test('limits that cannot bound a queue are refused', () => {
  assert.throws(() => new DelayQueue({ delayMs: -1, maxFrames: 1, maxBytes: 1 }), RangeError);
  assert.throws(() => new DelayQueue({ delayMs: NaN, maxFrames: 1, maxBytes: 1 }), RangeError);
  assert.throws(() => new DelayQueue({ delayMs: 1, maxFrames: 0, maxBytes: 1 }), RangeError);
  assert.throws(() => new DelayQueue({ delayMs: 1, maxFrames: 1, maxBytes: 0 }), RangeError);
  assert.throws(() => new DelayQueue({ delayMs: 1, maxFrames: 1.5, maxBytes: 1 }), RangeError);
});
