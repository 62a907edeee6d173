import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderOpenHole, renderCloseHole } from './nft-hole.js';
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
  assert.ok(!admin.some((c) => 'table' in ((c['add'] ?? c['delete'] ?? {}) as object)), 'admin deployment never touches the table');
  assert.ok(admin.some((c) => (c['flush'] as { set?: { name: string } } | undefined)?.set?.name === 'tg_pin4'));
  assert.ok(admin.every((c) => JSON.stringify(c).includes('"tg_') ));
});
