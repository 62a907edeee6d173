import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import type { GatewayConfig, PinholeModeConfig } from '../../config/gateway-config.js';
import type { NftBackend, NftResult } from '../../firewall/nft-runner.js';
import type { NftBatch } from '../../firewall/nft-ruleset.js';
import { systemClock } from '../../shared/clock.js';
import { PinholeDataPath } from '../pinhole/pinhole-data-path.js';
import { pinholeSettings } from '../pinhole/pinhole-from-config.js';
import { PrivilegedService } from './privileged-service.js';

const TOML = `mode = "pinhole"
[inside]
address = "10.1.0.1"
interface = "lan0"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
interface = "wan0"
[pinhole]
table = "tgp_own"
ports = "41000-41099"
hole_timeout = 60
`;

function config(text = TOML): GatewayConfig {
  const r = parseGatewayConfig(text, 'gw.toml');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config;
}

/** An nftables stand-in that records every batch and commits it. */
function recorder(): NftBackend & { batches: NftBatch[] } {
  const batches: NftBatch[] = [];
  const ok: NftResult = { ok: true, stdout: '' } as unknown as NftResult;
  return {
    kind: 'lib',
    batches,
    apply: (b) => {
      batches.push(b);
      return Promise.resolve(ok);
    },
    listTable: () => Promise.resolve(ok),
    listElements: () => Promise.resolve([]),
  };
}

function service(c = config(), serving?: () => boolean) {
  const nft = recorder();
  const warnings: object[] = [];
  const sent: unknown[] = [];
  const holes = new PinholeDataPath({
    settings: pinholeSettings(c as PinholeModeConfig),
    runner: nft,
    clock: systemClock,
    logger: { info: () => undefined, warn: () => undefined, debug: () => undefined },
    conntrack: ['true'],
    flows: 'exec',
    events: { onConnected: () => undefined, onEnded: () => undefined },
  });
  const svc = new PrivilegedService({
    config: c,
    holes,
    sendFrom: (bytes, route) => void sent.push({ n: bytes.length, route }),
    log: { warn: (o) => void warnings.push(o), debug: () => undefined },
    ...(serving !== undefined ? { serving } : {}),
  });
  return { svc, nft, warnings, sent, holes };
}

const valid = {
  callId: 'c-000001',
  listenSide: 'outside',
  listenAddress: '198.51.100.1',
  expectedPeer: '198.51.100.7',
  target: { address: '10.1.0.5', port: 30001 },
  bindAddress: '10.1.0.1',
  acceptDeadlineMs: 60_000,
};

/** Every table a batch names. */
function tablesOf(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) tablesOf(x, out);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'table' && typeof x === 'string') out.push(x);
      else if (k === 'family' && x !== 'ip') out.push(`family:${String(x)}`);
      else tablesOf(x, out);
    }
  }
  return out;
}

test('PrivilegedService opens a valid hole in its own table only', async () => {
  const { svc, nft, holes } = service();
  const r = await svc.handle({ id: 1, op: 'open', request: valid });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(nft.batches.length > 0);
  assert.deepEqual([...new Set(nft.batches.flatMap((b) => tablesOf(b)))], ['tgp_own']);
  assert.deepEqual((await svc.handle({ id: 2, op: 'list' })).ok && (await svc.handle({ id: 3, op: 'list' })), { t: 'res', id: 3, ok: true, result: ['c-000001'] });
  await holes.stop();
});

test('PrivilegedService on an HA backup refuses every open (ha-not-master), logs it, touches no table; as master it opens', async () => {
  let master = false;
  const { svc, nft, warnings, holes } = service(config(), () => master);
  const r = await svc.handle({ id: 1, op: 'open', request: valid });
  assert.equal(!r.ok && r.code, 'ha-not-master', JSON.stringify(r));
  assert.equal(nft.batches.length, 0, 'a backup reached nftables');
  assert.equal(warnings.length, 1);
  master = true;
  const ok = await svc.handle({ id: 2, op: 'open', request: valid });
  assert.equal(ok.ok, true, JSON.stringify(ok));
  await holes.stop();
});

test('PrivilegedService refuses, and logs, a hole the configuration does not allow', async () => {
  const { svc, nft, warnings, holes } = service();
  const cases: [unknown, string][] = [
    [{ id: 1, op: 'open', request: { ...valid, expectedPeer: '10.1.0.9' } }, 'peer-side'], // an inside address as the outside peer
    [{ id: 2, op: 'open', request: { ...valid, target: { address: '198.51.100.9', port: 1 } } }, 'target-side'],
    [{ id: 3, op: 'open', request: { ...valid, listenAddress: '198.51.100.2' } }, 'listen-address'],
    [{ id: 4, op: 'open', request: { ...valid, bindAddress: '10.1.0.2' } }, 'bind-address'],
    [{ id: 5, op: 'open', request: { ...valid, acceptDeadlineMs: 25 * 3600 * 1000 } }, 'malformed'],
    [{ id: 6, op: 'open', request: { ...valid, table: 'filter' } }, 'malformed'], // the worker never names a table
    [{ id: 7, op: 'open', request: { ...valid, externalPort: 22 } }, 'malformed'], // nor a port
    [{ id: 8, op: 'open', request: { ...valid, expectedPeer: '127.0.0.1' } }, 'peer-side'],
    [{ id: 9, op: 'open', request: { ...valid, expectedPeer: '198.51.100.1' } }, 'peer-side'], // the gateway itself
    [{ id: 10, op: 'close', callId: 'c-000042' }, 'unknown-call'],
    [{ id: 11, op: 'flushAll' }, 'malformed'],
    [{ id: 12, op: 'sendFrom', bytes: Buffer.alloc(84).toString('base64'), from: { address: '10.1.0.5', port: 518 }, to: { address: '10.1.0.6', port: 518 } }, 'send-sides'],
    [{ id: 13, op: 'sendFrom', bytes: Buffer.alloc(85).toString('base64'), from: { address: '198.51.100.7', port: 518 }, to: { address: '10.1.0.6', port: 518 } }, 'malformed'],
    [{ id: 14, op: 'sendFrom', bytes: Buffer.alloc(30).toString('base64'), from: { address: '198.51.100.7', port: 518 }, to: { address: '10.1.0.6', port: 518 } }, 'datagram-size'],
  ];
  for (const [req, code] of cases) {
    const r = await svc.handle(req);
    assert.equal(r.ok, false, JSON.stringify(req));
    assert.equal(!r.ok && r.code, code, JSON.stringify(req));
  }
  assert.equal(nft.batches.length, 0, 'nothing reached nftables');
  assert.equal(warnings.length, cases.length, 'every refusal is logged');
  await holes.stop();
});

test('PrivilegedService: a sendFrom between an inside and an outside address goes out; classical has none', async () => {
  const { svc, sent, holes } = service();
  const r = await svc.handle({ id: 1, op: 'sendFrom', bytes: Buffer.alloc(24).toString('base64'), from: { address: '198.51.100.7', port: 518 }, to: { address: '10.1.0.6', port: 33000 } });
  assert.equal(r.ok, true);
  assert.equal(sent.length, 1);
  await holes.stop();
  const classical = new PrivilegedService({
    config: config('[inside]\naddress = "10.1.0.1"\nnetworks = ["10.1.0.0/24"]\n[outside]\naddress = "198.51.100.1"\n'),
    log: { warn: () => undefined, debug: () => undefined },
  });
  const c = await classical.handle({ id: 1, op: 'open', request: valid });
  assert.equal(!c.ok && c.code, 'no-holes-here');
});

test('fuzz: no request sequence makes the privileged side touch anything but its own table', async () => {
  const ip = fc.oneof(
    fc.constantFrom('10.1.0.1', '10.1.0.5', '198.51.100.1', '198.51.100.7', '127.0.0.1', '0.0.0.0', '255.255.255.255', '224.0.0.1'),
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.')),
    fc.string({ maxLength: 20 }),
  );
  const nearValid = fc.record({
    id: fc.nat(1000),
    op: fc.constantFrom('open', 'renew', 'close', 'list', 'flush', 'sendFrom', 'drop'),
    callId: fc.oneof(fc.constant('c-000001'), fc.stringMatching(/^c-[0-9]{1,6}$/), fc.string({ maxLength: 12 })),
    request: fc.record({
      callId: fc.stringMatching(/^c-[0-9]{6}$/),
      listenSide: fc.constantFrom('inside', 'outside', 'dmz'),
      listenAddress: ip,
      expectedPeer: ip,
      target: fc.record({ address: ip, port: fc.integer({ min: -1, max: 70_000 }) }),
      bindAddress: ip,
      acceptDeadlineMs: fc.integer({ min: -5, max: 200_000 }),
    }),
    bytes: fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b).toString('base64')),
    from: fc.record({ address: ip, port: fc.integer({ min: 0, max: 70_000 }) }),
    to: fc.record({ address: ip, port: fc.integer({ min: 0, max: 70_000 }) }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(nearValid, fc.anything()), { maxLength: 12 }), async (reqs) => {
      const { svc, nft, holes } = service();
      for (const r of reqs) {
        const reply = await svc.handle(r);
        assert.equal(reply.t, 'res');
      }
      await holes.stop();
      for (const b of nft.batches) for (const t of tablesOf(b)) assert.equal(t, 'tgp_own', JSON.stringify(b).slice(0, 300));
    }),
    { numRuns: 2000 },
  );
});
