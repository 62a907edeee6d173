/**
 * openLibconntrack().dumpTcpByMark() against the kernel, side by side with `conntrack -L --mark`
 * (what the pinhole data path parsed before), in a fresh network namespace of a child process
 * (`unshare -n`): loopback TCP flows marked by an nftables rule. Needs root; skips with a printed
 * reason when not root or a tool/library is missing, and fails under CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { rootNetnsSkip, runAsChild } from '../../native/testing/root-netns-skip.js';
import { execFileSync, spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseConntrackFlows } from './pinhole-planner.js';
import { LibconntrackUnavailableError, openLibconntrack } from '../../native/libnetfilter-conntrack.js';

const SELF = fileURLToPath(import.meta.url);
const TOOLS = ['/usr/bin/unshare', '/usr/sbin/nft', '/usr/sbin/conntrack', '/usr/sbin/ip'];
const CHILD_TIMEOUT_MS = 30_000;
const MARK = 0x00500007;
const EPOCH_MASK = 0xfff00000;
const PORTS = [7771, 7772, 7773];

async function child(): Promise<void> {
  execFileSync('/usr/sbin/ip', ['link', 'set', 'lo', 'up']);
  writeFileSync('/proc/sys/net/netfilter/nf_conntrack_acct', '1'); // byte counters (this namespace)
  // Connections to the first two ports carry our epoch's marks, the third another epoch's.
  execFileSync('/usr/sbin/nft', [
    `add table ip tgu_ct; add chain ip tgu_ct out { type filter hook output priority 0; }; ` +
      `add rule ip tgu_ct out tcp dport ${PORTS[0]} ct mark set ${MARK}; add rule ip tgu_ct out tcp dport ${PORTS[1]} ct mark set ${MARK + 1}; ` +
      `add rule ip tgu_ct out tcp dport ${PORTS[2]} ct mark set 0x00600001`,
  ]);
  const ct = openLibconntrack();
  const before = ct.dumpTcpByMark(MARK & EPOCH_MASK, EPOCH_MASK);
  const servers = PORTS.map((p) => net.createServer((s) => s.on('data', () => undefined)).listen(p, '127.0.0.1'));
  await Promise.all(servers.map((s) => new Promise((r) => s.once('listening', r))));
  const clients = await Promise.all(
    PORTS.map(async (p) => {
      const c = net.connect(p, '127.0.0.1');
      await new Promise((r) => c.once('connect', r));
      c.write('x'.repeat(1000));
      return c;
    }),
  );
  await new Promise((r) => setTimeout(r, 100));
  const lib = ct.dumpTcpByMark(MARK & EPOCH_MASK, EPOCH_MASK);
  const exec = parseConntrackFlows(execFileSync('/usr/sbin/conntrack', ['-L', '-p', 'tcp', '--mark', `${MARK & EPOCH_MASK}/${EPOCH_MASK}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  for (const c of clients) c.destroy();
  for (const s of servers) s.close();
  ct.close();
  const closed = ct.dumpTcpByMark(0, 0);
  process.stdout.write(`${JSON.stringify({ before, lib, exec, closed })}\n`);
}

function skipReason(): string | false {
  return rootNetnsSkip({ what: 'conntrack', tools: TOOLS, probe: () => openLibconntrack().close() });
}

if (!runAsChild('--conntrack-child', child)) {
  test('openLibconntrack() names a missing library in a typed error', () => {
    assert.throws(() => openLibconntrack('libnetfilter_conntrack-talkgate-missing.so.0'), (e: unknown) => e instanceof LibconntrackUnavailableError && e.message.includes('talkgate-missing'));
  });

  test('dumpTcpByMark() lists exactly the flows `conntrack -L --mark` lists (kernel-side mark filter), states and marks alike', { skip: skipReason() }, () => {
    const env = { ...process.env };
    delete env['NODE_TEST_CONTEXT'];
    const r = spawnSync('/usr/bin/unshare', ['-n', process.execPath, ...process.execArgv, SELF, '--conntrack-child'], { env, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
    assert.equal(r.status, 0, `child failed: ${r.stdout} ${r.stderr}`);
    type Flow = { state: string; mark: number; bytes?: [number, number] };
    const got = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}') as {
      before: { ok: boolean; flows: Flow[] };
      lib: { ok: boolean; flows: Flow[] };
      exec: Flow[];
      closed: { ok: boolean; message?: string };
    };
    assert.deepEqual(got.before, { ok: true, flows: [] });
    assert.equal(got.lib.ok, true);
    const key = (f: Flow): string => `${f.state} ${f.mark}`;
    assert.deepEqual(got.lib.flows.map(key).sort(), [`ESTABLISHED ${MARK}`, `ESTABLISHED ${MARK + 1}`]);
    // Same flows, states, marks and byte counters as conntrack -L (no traffic between the two).
    const full = (f: Flow): string => `${key(f)} ${JSON.stringify(f.bytes)}`;
    assert.deepEqual(got.lib.flows.map(full).sort(), got.exec.map(full).sort());
    for (const f of got.lib.flows) assert.ok(f.bytes !== undefined && f.bytes[0] > 1000, `counters: ${JSON.stringify(f)}`);
    assert.equal(got.closed.ok, false);
  });
}
