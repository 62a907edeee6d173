import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { callMark, parseConntrackFlows, planHole, PortPool, LIVE_TCP_STATES } from './pinhole-planner.js';
import type { NftTableSpec } from '../../firewall/nft-ruleset.js';
import type { DataPathRequest } from '../session/session-types.js';
import { MARK_SEQ_BITS } from './pinhole-constants.js';

const spec: NftTableSpec = {
  family: 'ip',
  table: 'talkgate_pinhole',
  deployment: 'own',
  prefix: '',
  outsideInterface: 'wan0',
  insideInterface: 'lan0',
  insideNetworks: ['10.1.0.0/24'],
  outbound: 'holes',
};
/** alice (inside, 10.1.0.2, listening on 33333) calls bob (outside 198.51.100.2): bob connects in. */
const outboundCall: DataPathRequest = {
  callId: 'c-000042',
  listenSide: 'outside',
  listenAddress: '198.51.100.1',
  expectedPeer: '198.51.100.2',
  target: { address: '10.1.0.2', port: 33333 },
  bindAddress: '10.1.0.1',
  acceptDeadlineMs: 600_000,
};
/** bob (outside, listening on 44444) calls alice: alice connects out. */
const inboundCall: DataPathRequest = {
  callId: 'c-000043',
  listenSide: 'inside',
  listenAddress: '10.1.0.1',
  expectedPeer: '10.1.0.2',
  target: { address: '198.51.100.2', port: 44444 },
  bindAddress: '198.51.100.1',
  acceptDeadlineMs: 600_000,
};

type Cmd = Record<string, { element: { name: string; elem: unknown[] } }>;
const elementsOf = (cmds: readonly Record<string, unknown>[], verb: string): { name: string; elem: unknown }[] =>
  cmds.filter((c) => verb in c).map((c) => ({ name: (c as Cmd)[verb]!.element.name, elem: (c as Cmd)[verb]!.element.elem[0] }));

test('planHole() for an outside callee: one create batch of pin4 + callmark4 + DNAT from the outside address:port, peer-restricted', () => {
  const p = planHole(spec, outboundCall, { externalPort: 41007, mark: 42, timeoutSeconds: 60 });
  assert.deepEqual(p.announce, { address: '198.51.100.1', port: 41007 });
  assert.equal(p.oneShotSet, 'pin4');
  assert.deepEqual(p.oneShotKey, ['198.51.100.2', '10.1.0.2', 'tcp', 33333]);
  const cmds = p.open.nftables;
  assert.ok(cmds.every((c) => Object.keys(c)[0] === 'create'), 'every element is created (EEXIST fails the whole batch)');
  const els = elementsOf(cmds, 'create');
  assert.deepEqual(els.map((e) => e.name), ['pin4', 'callmark4', 'dnat4addr', 'dnat4port']);
  const text = JSON.stringify(cmds);
  assert.equal((text.match(/"comment":"c-000042"/g) ?? []).length, 4, 'every element carries the call id');
  assert.equal((text.match(/"timeout":60/g) ?? []).length, 4, 'every element expires with the invitation');
  assert.deepEqual(els[2]!.elem, [{ elem: { val: { concat: ['198.51.100.2', 'tcp', 41007] }, timeout: 60, comment: 'c-000042' } }, '10.1.0.2']);
  assert.deepEqual(els[3]!.elem, [{ elem: { val: { concat: ['198.51.100.2', 'tcp', 41007] }, timeout: 60, comment: 'c-000042' } }, 33333]);
  assert.deepEqual(els[1]!.elem, [{ elem: { val: { concat: ['198.51.100.2', '10.1.0.2', 'tcp', 33333] }, timeout: 60, comment: 'c-000042' } }, 42]);
});

test('planHole() for an inside callee: a one-shot outbound hole to the caller\'s own address, announced unchanged', () => {
  const p = planHole(spec, inboundCall, { externalPort: 41007, mark: 43, timeoutSeconds: 60 });
  assert.deepEqual(p.announce, { address: '198.51.100.2', port: 44444 });
  assert.equal(p.oneShotSet, 'pinout4');
  const els = elementsOf(p.open.nftables, 'create');
  assert.deepEqual(els.map((e) => e.name), ['pinout4', 'callmark4']);
  assert.deepEqual((els[0]!.elem as { elem: { val: unknown } }).elem.val, { concat: ['10.1.0.2', '198.51.100.2', 'tcp', 44444] });
  assert.ok(!JSON.stringify(p.open).includes('41007'), 'no external port is used');
});

test('planHole() close batch re-adds then deletes exactly the opened elements (idempotent, one transaction)', () => {
  for (const req of [outboundCall, inboundCall]) {
    const p = planHole(spec, req, { externalPort: 41000, mark: 7, timeoutSeconds: 5 });
    const opened = elementsOf(p.open.nftables, 'create').map((e) => e.name);
    assert.deepEqual(elementsOf(p.close.nftables, 'add').map((e) => e.name), opened);
    assert.deepEqual(elementsOf(p.close.nftables, 'delete').map((e) => e.name), opened);
  }
});

test('planHole() in an administrator\'s table uses only our prefixed sets', () => {
  const p = planHole({ ...spec, deployment: 'admin', prefix: 'tg_', table: 'filter' }, outboundCall, { externalPort: 41000, mark: 1, timeoutSeconds: 5 });
  for (const e of elementsOf(p.open.nftables, 'create')) assert.ok(e.name.startsWith('tg_'), e.name);
  assert.ok(JSON.stringify(p.open).includes('"table":"filter"'));
});

test('callMark() is non-zero, distinct per call, and distinct across process epochs', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 1, max: 999_999 }), fc.nat(), (a, b, epoch) => {
      const ma = callMark(`c-${String(a).padStart(6, '0')}`, epoch);
      const mb = callMark(`c-${String(b).padStart(6, '0')}`, epoch);
      assert.ok(ma > 0 && ma <= 0xffff_ffff);
      assert.equal(ma === mb, a === b);
      assert.equal(ma % 2 ** MARK_SEQ_BITS, a);
    }),
  );
  assert.notEqual(callMark('c-000001', 1), callMark('c-000001', 2));
  assert.throws(() => callMark('c-000000', 1), RangeError);
  assert.throws(() => callMark('nonsense', 1), RangeError);
});

test('PortPool hands out each port of its range once, then nothing, and takes released ports back', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1024, max: 60_000 }), fc.integer({ min: 1, max: 40 }), fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { maxLength: 60 }), (min, size, rs) => {
      const pool = new PortPool({ min, max: min + size - 1 });
      const got = new Set<number>();
      for (const r of rs) {
        const p = pool.take(r);
        if (got.size >= size) {
          assert.equal(p, undefined);
          continue;
        }
        assert.ok(p !== undefined && p >= min && p < min + size && !got.has(p));
        got.add(p);
      }
      const first = [...got][0];
      if (first !== undefined) {
        pool.release(first);
        const others = new Set(Array.from({ length: size }, (_, i) => min + i).filter((x) => x !== first));
        assert.equal(pool.take(0.5, others), first);
      }
    }),
  );
  assert.throws(() => new PortPool({ min: 5, max: 4 }), RangeError);
});

test('parseConntrackFlows() reads state, mark and the byte counters of conntrack -L lines', () => {
  const text = [
    'tcp      6 431999 ESTABLISHED src=198.51.100.2 dst=198.51.100.1 sport=40001 dport=41000 packets=5 bytes=300 src=10.1.0.2 dst=198.51.100.2 sport=33333 dport=40001 packets=4 bytes=250 [ASSURED] mark=1048618 use=1',
    'tcp      6 119 TIME_WAIT src=10.1.0.2 dst=198.51.100.2 sport=1 dport=2 src=198.51.100.2 dst=198.51.100.1 sport=2 dport=1 [ASSURED] mark=7 use=1',
    'udp      17 29 src=10.1.0.2 dst=10.1.0.1 sport=1 dport=518 mark=0 use=1',
    'garbage',
  ].join('\n');
  const flows = parseConntrackFlows(text);
  assert.deepEqual(flows, [
    { state: 'ESTABLISHED', mark: 1048618, bytes: [300, 250] },
    { state: 'TIME_WAIT', mark: 7, bytes: undefined },
  ]);
  assert.ok(LIVE_TCP_STATES.has('ESTABLISHED') && !LIVE_TCP_STATES.has('TIME_WAIT'));
});
