import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HoleSpec } from '../../firewall/nft-hole.js';
import type { NftResult } from '../../firewall/nft-runner.js';
import type { FirewallOp, MiddleboxConfig } from '../middlebox-core.js';
import type { MiddleboxFirewall } from '../middlebox-firewall.js';
import { MiddleboxPrivilegedService } from './middlebox-privileged-service.js';

const cfg: MiddleboxConfig = {
  externalAddress: '203.0.113.1',
  insideNetworks: ['10.201.0.0/24'],
  minLifetime: 5,
  maxLifetime: 600,
  thirdParty: [],
  portRange: [40000, 40999],
  maxMappings: 64,
  maxPerHost: 64,
};

const good: HoleSpec = {
  id: 'map-1 10.201.0.2:5555',
  direction: 'inbound',
  protocol: 'tcp',
  peer: '198.51.100.7',
  internalAddress: '10.201.0.2',
  internalPort: 5555,
  externalPort: 40000,
  timeoutSeconds: 60,
  oneShot: false,
  mark: 0,
};

function recorder(): MiddleboxFirewall & { applied: FirewallOp[][] } {
  const applied: FirewallOp[][] = [];
  const ok: NftResult = { ok: true, stdout: '' };
  return {
    applied,
    replaceTable: () => Promise.resolve(),
    apply: (ops) => {
      applied.push([...ops]);
      return Promise.resolve(ok);
    },
    tableLost: () => Promise.resolve(false),
    removeTable: () => Promise.resolve(ok),
  };
}

function service() {
  const fw = recorder();
  const warnings: object[] = [];
  return { fw, warnings, svc: new MiddleboxPrivilegedService(cfg, fw, { warn: (o) => void warnings.push(o) }) };
}

test('the privileged middlebox applies a configured mapping', async () => {
  const { fw, svc } = service();
  const r = await svc.handle({ id: 1, op: 'apply', ops: [{ kind: 'open', hole: good }] });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(fw.applied.length, 1);
});

test('the privileged middlebox refuses, logs and never applies a mapping the configuration does not allow', async () => {
  const { fw, svc, warnings } = service();
  const cases: [unknown, string][] = [
    [{ kind: 'open', hole: { ...good, internalAddress: '10.9.9.9' } }, 'internal-address'],
    [{ kind: 'open', hole: { ...good, internalAddress: '127.0.0.1' } }, 'internal-address'],
    [{ kind: 'open', hole: { ...good, peer: '10.201.0.3' } }, 'peer-address'], // an inside address as the outside peer
    [{ kind: 'open', hole: { ...good, externalPort: 22 } }, 'external-port'],
    [{ kind: 'open', hole: { ...good, externalPort: null } }, 'external-port'],
    [{ kind: 'open', hole: { ...good, timeoutSeconds: 601 } }, 'lifetime'],
    [{ kind: 'open', hole: { ...good, oneShot: true, mark: 5 } }, 'hole-kind'],
    [{ kind: 'replace', old: { ...good, internalAddress: '8.8.8.8' }, hole: good }, 'internal-address'],
    [{ kind: 'open', hole: { ...good, table: 'filter' } }, 'malformed'], // the worker never names a table
    [{ kind: 'open', hole: { ...good, id: 'x" ; y\n' } }, 'malformed'],
    [{ kind: 'flush', hole: good }, 'malformed'],
  ];
  for (const [op, code] of cases) {
    const r = await svc.handle({ id: 2, op: 'apply', ops: [op] });
    assert.equal(!r.ok && r.code, code, JSON.stringify(op));
  }
  assert.equal((await svc.handle({ id: 3, op: 'rm -rf' })).ok, false);
  assert.equal(fw.applied.length, 0, 'nothing reached nftables');
  assert.equal(warnings.length, cases.length + 1, 'every refusal is logged');
});

test('fuzz: whatever the worker sends, only configured mappings reach the firewall', async () => {
  const ip = fc.oneof(fc.constantFrom('10.201.0.2', '10.201.0.9', '203.0.113.1', '198.51.100.7', '127.0.0.1', '0.0.0.0', '224.0.0.1', '10.9.9.9'), fc.string({ maxLength: 16 }));
  const hole = fc.record({
    id: fc.string({ maxLength: 40 }),
    direction: fc.constantFrom('inbound', 'outbound'),
    protocol: fc.constantFrom('tcp', 'udp', 'icmp'),
    peer: fc.option(ip, { nil: null }),
    internalAddress: ip,
    internalPort: fc.integer({ min: -1, max: 70_000 }),
    externalPort: fc.option(fc.integer({ min: -1, max: 70_000 }), { nil: null }),
    timeoutSeconds: fc.integer({ min: -1, max: 5_000 }),
    oneShot: fc.boolean(),
    mark: fc.nat(10),
  });
  const op = fc.oneof(fc.record({ kind: fc.constantFrom('open', 'close'), hole }), fc.record({ kind: fc.constant('replace'), old: hole, hole }), fc.anything());
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ id: fc.nat(), op: fc.constantFrom('apply', 'replaceTable', 'tableLost', 'x'), ops: fc.array(op, { maxLength: 3 }) }), { maxLength: 8 }), async (reqs) => {
      const { fw, svc } = service();
      for (const r of reqs) assert.equal((await svc.handle(r)).t, 'res');
      for (const batch of fw.applied) {
        for (const o of batch) {
          const holes = o.kind === 'replace' ? [o.old, o.hole] : [o.hole];
          for (const h of holes) {
            assert.ok(h.internalAddress.startsWith('10.201.0.'), JSON.stringify(h));
            assert.ok(h.externalPort !== null && h.externalPort >= 40000 && h.externalPort <= 40999);
            assert.ok(h.peer === null || !h.peer.startsWith('10.201.0.'));
            assert.ok(h.timeoutSeconds <= 600);
          }
        }
      }
    }),
    { numRuns: 2000 },
  );
});
