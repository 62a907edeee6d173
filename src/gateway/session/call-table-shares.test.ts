import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CallTableShares, type ShareClaim, type ShareLimits } from './call-table-shares.js';

const LIMITS: ShareLimits = { maxCalls: 16, callsPerSource: 3, callsPerNetwork: 5, networkPrefix: 24, pendingPerCallee: 2, sideReserve: 0.25 };

const claim = (source: string, callee: string | undefined, side: ShareClaim['side'] = 'outside'): ShareClaim => ({ side, source, callee });

/** Adds calls until admit() refuses; returns how many were admitted and why it stopped. */
function fill(s: CallTableShares, next: (i: number) => ShareClaim, max = 1000): { admitted: number; refusal: string | undefined } {
  for (let i = 0; i < max; i++) {
    const c = next(i);
    const r = s.admit(c);
    if (r !== undefined) return { admitted: i, refusal: r };
    s.add(`c${i}`, c);
  }
  return { admitted: max, refusal: undefined };
}

test('CallTableShares: one source address holds at most calls_per_source calls', () => {
  const s = new CallTableShares(LIMITS);
  assert.deepEqual(fill(s, (i) => claim('198.51.100.7', `outside|u${i}|h`)), { admitted: 3, refusal: 'source_share' });
  assert.equal(s.admit(claim('203.0.113.9', 'outside|x|h')), undefined, 'another address still gets a slot');
});

test('CallTableShares: one outside /24 holds at most calls_per_network calls; inside callers are counted per address only', () => {
  const s = new CallTableShares(LIMITS);
  assert.deepEqual(fill(s, (i) => claim(`198.51.100.${i + 1}`, `inside|u${i}|h`)), { admitted: 5, refusal: 'network_share' });
  assert.equal(s.admit(claim('198.51.101.1', 'inside|x|h')), undefined, 'the next /24 is another network');
  const t = new CallTableShares(LIMITS);
  assert.deepEqual(fill(t, (i) => claim(`10.1.0.${i + 1}`, `outside|u${i}|h`, 'inside')), { admitted: 12, refusal: 'side_share' }, 'inside callers never meet the network share');
});

test('CallTableShares: network_prefix groups outside callers (a /16 here)', () => {
  const s = new CallTableShares({ ...LIMITS, networkPrefix: 16 });
  assert.deepEqual(fill(s, (i) => claim(`198.51.${i}.1`, `inside|u${i}|h`)), { admitted: 5, refusal: 'network_share' });
});

test('CallTableShares: a callee is rung by at most pending_per_callee pending calls; a connected call no longer counts', () => {
  const s = new CallTableShares(LIMITS);
  assert.deepEqual(fill(s, (i) => claim(`203.0.${i}.1`, 'inside|alice|10.1.0.2')), { admitted: 2, refusal: 'callee_pending' });
  s.settle('c0');
  assert.equal(s.admit(claim('203.0.9.1', 'inside|alice|10.1.0.2')), undefined);
  s.remove('c1');
  s.add('c9', claim('203.0.9.1', 'inside|alice|10.1.0.2'));
  assert.equal(s.admit(claim('203.0.10.1', 'inside|alice|10.1.0.2')), undefined, 'c1 gone and c0 connected: one of two pending slots is free');
});

test('CallTableShares: each side keeps its reserve; a side may use the rest while the other leaves its reserve unused', () => {
  const s = new CallTableShares({ ...LIMITS, callsPerSource: 100, callsPerNetwork: 100 });
  // 16 × 0.25 = 4 slots are owed to the inside while it holds none: the outside gets 12.
  assert.deepEqual(fill(s, (i) => claim('198.51.100.1', `inside|u${i}|h`)), { admitted: 12, refusal: 'side_share' });
  // The inside takes 2, the outside fills what is left but the inside's 2 still owed.
  const t = new CallTableShares({ ...LIMITS, callsPerSource: 100, callsPerNetwork: 100 });
  for (let i = 0; i < 2; i++) t.add(`i${i + 10}`, claim('10.1.0.2', `outside|x${i}|h`, 'inside'));
  for (let i = 0; i < 12; i++) {
    assert.equal(t.admit(claim('198.51.100.1', `inside|u${i}|h`)), undefined, `outside call ${i}`);
    t.add(`o${i}`, claim('198.51.100.1', `inside|u${i}|h`));
  }
  assert.equal(t.admit(claim('198.51.100.1', 'inside|u99|h')), 'side_share');
  t.remove('i10');
  t.remove('i11');
  for (let i = 0; i < 4; i++) {
    assert.equal(t.admit(claim('10.1.0.2', `outside|v${i}|h`, 'inside')), undefined, `inside call ${i} fits its reserve`);
    t.add(`i${i}`, claim('10.1.0.2', `outside|v${i}|h`, 'inside'));
  }
  assert.equal(t.admit(claim('10.1.0.2', 'outside|w|h', 'inside')), 'table_full');
  assert.equal(t.size, 16);
});

test('CallTableShares: pendingCall() names the pending call of a caller address for a callee, until it connects or ends', () => {
  const s = new CallTableShares(LIMITS);
  s.add('c1', claim('198.51.100.7', 'inside|alice|10.1.0.2'));
  assert.equal(s.pendingCall('198.51.100.7', 'inside|alice|10.1.0.2'), 'c1');
  assert.equal(s.pendingCall('198.51.100.8', 'inside|alice|10.1.0.2'), undefined);
  s.settle('c1');
  assert.equal(s.pendingCall('198.51.100.7', 'inside|alice|10.1.0.2'), undefined);
  s.add('c2', claim('198.51.100.7', 'inside|alice|10.1.0.2'));
  s.remove('c2');
  assert.equal(s.pendingCall('198.51.100.7', 'inside|alice|10.1.0.2'), undefined);
});

test('CallTableShares: whatever the order of adds, settles and removes, every bound holds and counts return to zero (property)', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), side: fc.constantFrom('inside' as const, 'outside' as const), src: fc.integer({ min: 0, max: 5 }), net: fc.integer({ min: 0, max: 2 }), callee: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) }),
    fc.record({ kind: fc.constantFrom('settle' as const, 'remove' as const), id: fc.integer({ min: 0, max: 60 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const s = new CallTableShares(LIMITS);
      const live = new Map<string, ShareClaim & { pending: boolean }>();
      let n = 0;
      for (const o of ops) {
        if (o.kind === 'add') {
          const c = claim(`198.51.${o.net}.${o.src}`, o.callee === undefined ? undefined : `inside|u${o.callee}|h`, o.side);
          if (s.admit(c) !== undefined) continue;
          const id = `c${n++}`;
          s.add(id, c);
          live.set(id, { ...c, pending: true });
        } else {
          const id = `c${o.id}`;
          if (o.kind === 'settle') {
            s.settle(id);
            const e = live.get(id);
            if (e !== undefined) e.pending = false;
          } else {
            s.remove(id);
            live.delete(id);
          }
        }
        const all = [...live.values()];
        assert.ok(all.length <= LIMITS.maxCalls);
        for (const e of all) {
          assert.ok(all.filter((x) => x.source === e.source).length <= LIMITS.callsPerSource);
          if (e.callee !== undefined) assert.ok(all.filter((x) => x.pending && x.callee === e.callee).length <= LIMITS.pendingPerCallee);
          if (e.side === 'outside') assert.ok(all.filter((x) => x.side === 'outside' && x.source.split('.')[2] === e.source.split('.')[2]).length <= LIMITS.callsPerNetwork);
        }
        // Each side can still reach its reserve: the free slots cover what it is owed.
        for (const side of ['inside', 'outside'] as const) {
          assert.ok(LIMITS.maxCalls - all.length >= Math.ceil(LIMITS.sideReserve * LIMITS.maxCalls) - all.filter((x) => x.side === side).length, `${side} reserve`);
        }
        assert.equal(s.size, live.size);
      }
      for (const id of [...live.keys()]) s.remove(id);
      assert.equal(s.size, 0);
      assert.equal(s.admit(claim('198.51.0.0', 'inside|u0|h')), undefined, 'an empty table admits');
    }),
    { numRuns: 300 },
  );
});
