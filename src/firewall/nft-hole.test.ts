import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderOpenHole, renderCloseHole, renderRefreshHole } from './nft-hole.js';
import { renderReplaceTable, type NftTableSpec } from './nft-ruleset.js';

const spec: NftTableSpec = { family: 'ip', table: 'tg', deployment: 'own', prefix: '', outsideInterface: 'wan0', insideInterface: 'lan0', insideNetworks: ['10.0.0.0/24'], outbound: 'open' };
const hole = { id: 'call-42', direction: 'inbound' as const, protocol: 'tcp' as const, peer: '192.0.2.2', internalAddress: '10.0.0.2', internalPort: 5555, externalPort: 40000, timeoutSeconds: 30, oneShot: true, mark: 42 };

test('renderOpenHole() creates pin4, callmark4 and the DNAT maps in one batch of create commands', () => {
  assert.deepEqual(renderOpenHole(spec, hole), {
    nftables: [
      { create: { element: { family: 'ip', table: 'tg', name: 'pin4', elem: [{ elem: { val: { concat: ['192.0.2.2', '10.0.0.2', 'tcp', 5555] }, timeout: 30, comment: 'call-42' } }] } } },
      { create: { element: { family: 'ip', table: 'tg', name: 'callmark4', elem: [[{ elem: { val: { concat: ['192.0.2.2', '10.0.0.2', 'tcp', 5555] }, timeout: 30, comment: 'call-42' } }, 42]] } } },
      { create: { element: { family: 'ip', table: 'tg', name: 'dnat4addr', elem: [[{ elem: { val: { concat: ['192.0.2.2', 'tcp', 40000] }, timeout: 30, comment: 'call-42' } }, '10.0.0.2']] } } },
      { create: { element: { family: 'ip', table: 'tg', name: 'dnat4port', elem: [[{ elem: { val: { concat: ['192.0.2.2', 'tcp', 40000] }, timeout: 30, comment: 'call-42' } }, 5555]] } } },
    ],
  });
});

test('renderCloseHole() is add-then-delete of the same elements (idempotent, atomic)', () => {
  const b = renderCloseHole(spec, hole).nftables;
  assert.equal(b.length, 8);
  assert.deepEqual(b.slice(0, 4).map((c) => Object.keys(c)[0]), ['add', 'add', 'add', 'add']);
  assert.deepEqual(b.slice(4).map((c) => Object.keys(c)[0]), ['delete', 'delete', 'delete', 'delete']);
});

test('renderReplaceTable() own deployment: add+delete+add table, forward policy drop, ends with drop', () => {
  const b = renderReplaceTable(spec).nftables;
  assert.deepEqual(b.slice(0, 3).map((c) => Object.keys(c)[0]), ['add', 'delete', 'add']);
  const fwd = b.find((c) => (c['add'] as { chain?: { name: string } } | undefined)?.chain?.name === 'forward');
  assert.equal((fwd?.['add'] as { chain: { policy: string } }).chain.policy, 'drop');
  const admin = renderReplaceTable({ ...spec, deployment: 'admin', prefix: 'tg_' }, new Set(['tg_pin4'])).nftables;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs `object` on the right of `in`
  assert.ok(!admin.some((c) => 'table' in ((c['add'] ?? c['delete'] ?? {}) as object)), 'admin deployment never touches the table');
  assert.ok(admin.some((c) => (c['flush'] as { set?: { name: string } } | undefined)?.set?.name === 'tg_pin4'));
  assert.ok(admin.every((c) => JSON.stringify(c).includes('"tg_') ));
});

test('renderOpenHole() of a one-shot outbound hole: pinout4 + callmark4 (a call\'s inside party connecting out)', () => {
  const out = { ...hole, direction: 'outbound' as const, peerPort: 44444, externalPort: null, internalPort: 0, mark: 43 };
  const names = renderOpenHole(spec, out).nftables.map((c) => (c['create'] as { element: { name: string } }).element.name);
  assert.deepEqual(names, ['pinout4', 'callmark4']);
  const plain = renderOpenHole(spec, { ...out, oneShot: false }).nftables.map((c) => (c['create'] as { element: { name: string } }).element.name);
  assert.deepEqual(plain, ['out4'], 'a PCP-style outbound hole is unchanged');
});

test('renderReplaceTable() marks one-shot outbound flows before the open/holes outbound rule', () => {
  for (const outbound of ['open', 'holes'] as const) {
    const rules = renderReplaceTable({ ...spec, outbound }).nftables.map((c) => JSON.stringify(c)).filter((t) => t.includes('"rule"') && t.includes('"lan0"'));
    const pin = rules.findIndex((t) => t.includes('@pinout4'));
    const rest = rules.findIndex((t) => !t.includes('@pinout4') && !t.includes('"mark"'));
    assert.ok(pin >= 0 && rest > pin, `${outbound}: ${rules.join('\n')}`);
  }
});

test('renderRefreshHole() deletes (no meta) then re-adds (new timeout) every element: fails whole once a one-shot element was consumed', () => {
  const b = renderRefreshHole(spec, hole).nftables;
  assert.deepEqual(b.map((c) => Object.keys(c)[0]), ['delete', 'delete', 'delete', 'delete', 'add', 'add', 'add', 'add']);
  assert.ok(!JSON.stringify(b.slice(0, 4)).includes('timeout'));
  assert.ok(b.slice(4).every((c) => JSON.stringify(c).includes('"timeout":30')));
});
