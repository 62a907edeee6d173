import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftRunner } from '../../firewall/nft-runner.js';
import { systemClock } from '../../shared/clock.js';
import type { DataPathRequest } from '../session/session-types.js';
import { PinholeDataPath, type PinholeSettings } from './pinhole-data-path.js';

// A stand-in nft (sh): logs every batch it gets, fails with nft's EEXIST message when the batch
// names call c-000003 (a port clash of that call only), takes 30 ms like a real transaction.
function standIn(log: string): NftRunner {
  const script = `printf '%s\\n' "$2" >> "${log}"; sleep 0.03; case "$2" in *c-000003*) echo 'Error: Could not process rule: File exists' >&2; exit 1;; esac`;
  return new NftRunner({ command: ['sh', '-c', script, 'nft'] });
}

const settings: PinholeSettings = {
  table: { family: 'ip', table: 't', deployment: 'own', prefix: '', outsideInterface: 'wan0', insideInterface: 'lan0', insideNetworks: [], outbound: 'holes' },
  ports: { min: 41000, max: 41009 },
  holeTimeoutSeconds: 60,
  maxHoles: 6,
};
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const req = (n: number): DataPathRequest => ({
  callId: `c-${String(n).padStart(6, '0')}`,
  listenSide: 'outside',
  listenAddress: '198.51.100.1',
  expectedPeer: `198.51.100.${n + 1}`,
  target: { address: '10.1.0.2', port: 30000 + n },
  bindAddress: '10.1.0.1',
  acceptDeadlineMs: 600_000,
});

test('PinholeDataPath.open(): concurrent opens share one transaction; a clash refuses only its own call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-pinhole-'));
  const log = join(dir, 'nft.log');
  const dp = new PinholeDataPath({ settings, runner: standIn(log), clock: systemClock, logger: quiet, conntrack: ['true'], events: { onConnected: () => undefined, onEnded: () => undefined } });
  try {
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => dp.open(req(n))));
    assert.deepEqual(results.map((r) => r.ok), [true, true, false, true, true]);
    const third = results[2];
    assert.ok(third !== undefined && !third.ok && third.reason === 'nft' && third.detail.startsWith('exists'), JSON.stringify(third));
    for (const r of results) if (r.ok) assert.ok(r.address === '198.51.100.1' && r.port >= 41000 && r.port <= 41009);
    const ports = results.flatMap((r) => (r.ok ? [r.port] : []));
    assert.equal(new Set(ports).size, 4, 'distinct external ports');
    const batches = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { nftables: unknown[] });
    // All five together (refused because of 3), then each alone, 3 tried on 3 ports.
    assert.equal(batches[0]?.nftables.length, 20, 'the concurrent opens went in one transaction');
    assert.equal(batches.length, 1 + 4 + 3);
    assert.equal(batches.filter((b) => JSON.stringify(b).includes('c-000003')).length, 1 + 3, 'group + three ports for the clashing call');
    assert.equal(dp.size, 4);
    // The quota: 6 holes at most.
    assert.ok((await dp.open(req(6))).ok);
    assert.ok((await dp.open(req(7))).ok);
    const over = await dp.open(req(8));
    assert.ok(!over.ok && over.reason === 'quota');
    assert.ok(!(await dp.open(req(7))).ok, 'a call gets one hole');
  } finally {
    await dp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PinholeDataPath.close() removes the hole with an add+delete batch of exactly its elements', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-pinhole-'));
  const log = join(dir, 'nft.log');
  const dp = new PinholeDataPath({ settings, runner: standIn(log), clock: systemClock, logger: quiet, conntrack: ['true'], events: { onConnected: () => undefined, onEnded: () => undefined } });
  try {
    const r = await dp.open(req(1));
    assert.ok(r.ok);
    dp.close('c-000001');
    assert.equal(dp.size, 0);
    for (let i = 0; i < 100 && readFileSync(log, 'utf8').trim().split('\n').length < 2; i++) await new Promise((res) => setTimeout(res, 20));
    const [open, close] = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { nftables: Record<string, unknown>[] });
    assert.deepEqual(close?.nftables.map((c) => Object.keys(c)[0]), ['add', 'add', 'add', 'add', 'delete', 'delete', 'delete', 'delete']);
    assert.equal(open?.nftables.length, 4);
  } finally {
    await dp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PinholeDataPath: a flow carrying the call\'s mark → connected (rest of the hole removed); flow gone → ended; no flow by the timeout → expired', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-pinhole-'));
  const log = join(dir, 'nft.log');
  const flows = join(dir, 'flows');
  // A stand-in conntrack (sh) listing whatever the test wrote as "the kernel's flows".
  const conntrack = ['sh', '-c', `if [ "$1" = -L ]; then cat "${flows}" 2>/dev/null; fi; exit 0`, 'conntrack'];
  const events: string[] = [];
  const dp = new PinholeDataPath({
    settings: { ...settings, holeTimeoutSeconds: 1 },
    runner: standIn(log),
    clock: systemClock,
    logger: quiet,
    conntrack,
    epoch: 7,
    events: {
      onConnected: (id, info) => events.push(`connected ${id} ${info.peer} -> ${info.target}`),
      onEnded: (id, info) => events.push(`ended ${id} ${info.reason} ${info.bytesIn}/${info.bytesOut}`),
    },
  });
  const waitFor = async (re: RegExp, ms: number): Promise<void> => {
    for (let i = 0; i < ms / 20 && !events.some((e) => re.test(e)); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(events.some((e) => re.test(e)), `${re.source} not in ${JSON.stringify(events)}`);
  };
  try {
    const a = await dp.open(req(1));
    const b = await dp.open(req(2));
    assert.ok(a.ok && b.ok);
    const mark = 7 * 2 ** 20 + 1;
    writeFileSync(flows, `tcp      6 431999 ESTABLISHED src=198.51.100.2 dst=198.51.100.1 sport=1 dport=41000 packets=3 bytes=180 src=10.1.0.2 dst=198.51.100.2 sport=30001 dport=1 packets=2 bytes=120 [ASSURED] mark=${mark} use=1\n`);
    await waitFor(/^connected c-000001 198\.51\.100\.2 -> 10\.1\.0\.2:30001$/, 900);
    assert.equal(dp.ringing(), 1);
    await waitFor(/^ended c-000002 pinhole expired unused/, 2_000);
    assert.ok(!events.some((e) => e.startsWith('ended c-000001')), 'the connected call outlives its hole timeout');
    writeFileSync(flows, `tcp      6 119 TIME_WAIT src=198.51.100.2 dst=198.51.100.1 sport=1 dport=41000 packets=9 bytes=900 src=10.1.0.2 dst=198.51.100.2 sport=30001 dport=1 packets=8 bytes=800 [ASSURED] mark=${mark} use=1\n`);
    await waitFor(/^ended c-000001 connection closed 900\/800$/, 2_500);
    assert.equal(dp.size, 0);
    const batches = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { nftables: Record<string, unknown>[] });
    const closes = batches.filter((b) => b.nftables.some((c) => 'delete' in c));
    assert.ok(closes.length >= 2, 'both holes were removed');
  } finally {
    await dp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PinholeDataPath.renew() (a re-announce) restarts an unused hole\'s timeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-pinhole-'));
  const log = join(dir, 'nft.log');
  const ended: number[] = [];
  const dp = new PinholeDataPath({
    settings: { ...settings, holeTimeoutSeconds: 1 },
    runner: standIn(log),
    clock: systemClock,
    logger: quiet,
    conntrack: ['true'],
    events: { onConnected: () => undefined, onEnded: () => ended.push(Date.now()) },
  });
  try {
    const t0 = Date.now();
    assert.ok((await dp.open(req(1))).ok);
    await new Promise((r) => setTimeout(r, 600));
    dp.renew('c-000001');
    for (let i = 0; i < 150 && ended.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(ended.length, 1);
    assert.ok((ended[0] ?? 0) - t0 >= 1_500, `expired ${(ended[0] ?? 0) - t0} ms after opening despite the refresh at 600 ms`);
    const refresh = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { nftables: Record<string, unknown>[] })[1];
    assert.deepEqual(refresh?.nftables.map((c) => Object.keys(c)[0]), ['delete', 'delete', 'delete', 'delete', 'add', 'add', 'add', 'add']);
  } finally {
    await dp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
