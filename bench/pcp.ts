/**
 * PCP MAP benchmark: talkgate middlebox versus miniupnpd (Debian miniupnpd-nftables 2.3.1) in
 * the same run, same namespaces (test/lab TOPO_UPNP: tgp-uin ─ tgp-ugw ─ tgp-uout; miniupnpd
 * needs a non-reserved WAN address, 100.200.0.1, which exists only inside them). The client is
 * talkgate's PcpClient in tgp-uin; each iteration is one MAP create and one MAP delete (lifetime
 * 0 with the nonce) of a distinct internal port, one request at a time, so every request also
 * commits an nft change on the server. talkgate runs twice: libnftables in process (default) and
 * `--nft exec` (one `nft -j` process per batch). Bounded: BENCH_PCP_N iterations (default 300) per server.
 * Needs root; only namespace addresses are used.
 *   node dist/bench/pcp.js      (or: npx tsx bench/pcp.ts)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientDriver, TOPO_UPNP as T, labDown, labUp, repoRoot, waitFor } from '../test/lab/pcp-lab.js';
import { miniupnpd } from '../test/lab/pcp-miniupnpd.lab.js';

const N = Math.min(Number(process.env['BENCH_PCP_N'] ?? 300), 10_000);
const BENCH_CALL_MS = 120_000;

interface BenchResult {
  requests: number;
  failures: number;
  totalMs: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

async function bench(label: string): Promise<BenchResult> {
  const drv = new ClientDriver(T.ns.inside, T.addr.boxIn, 1000, 3);
  try {
    await drv.call({ op: 'announce' });
    const r = await drv.call<BenchResult>({ op: 'bench', n: N }, BENCH_CALL_MS);
    process.stdout.write(`${label.padEnd(20)} ${String(r.requests).padStart(6)} req  ${r.perSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p90 ${r.p90.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(2)} ms  failures ${r.failures}\n`);
    return r;
  } finally {
    drv.stop();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/pcp: needs root (network namespaces)\n');
    process.exitCode = 2;
    return;
  }
  labUp(T);
  const dir = mkdtempSync(join(tmpdir(), 'tgp-bench-'));
  const conf = join(dir, 'mb.toml');
  writeFileSync(conf, `[inside]\naddress = "${T.addr.boxIn}"\ninterface = "${T.ifs.boxIn}"\nnetworks = ["${T.insideNet}"]\n[outside]\naddress = "${T.addr.boxOut}"\ninterface = "${T.ifs.boxOut}"\n[pcp]\nmin_lifetime = 10\nmax_lifetime = 3600\n[firewall]\ntable = "talkgate_pcp"\n`);
  const bin = join(repoRoot(), 'bin', 'talkgate.js');
  try {
    process.stdout.write(`PCP MAP create+delete, ${N} iterations per server (${2 * N} requests), sequential\n`);
    let ours: BenchResult | undefined;
    for (const how of ['lib', 'exec'] as const) {
      const mb = spawn('ip', ['netns', 'exec', T.ns.box, process.execPath, bin, 'middlebox', '--config', conf, '--nft', how], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        await waitFor(mb, /listening on/, 15_000);
        const r = await bench(`talkgate (nft ${how})`);
        ours ??= r;
      } finally {
        mb.kill('SIGTERM');
        await new Promise((res) => mb.once('exit', res));
      }
    }
    const upnp = miniupnpd(T);
    let theirs: BenchResult;
    try {
      await upnp.start();
      theirs = await bench('miniupnpd 2.3.1');
    } finally {
      await upnp.stop();
      rmSync(upnp.dir, { recursive: true, force: true });
    }
    if (ours === undefined) return;
    process.stdout.write(`ratio talkgate (lib)/miniupnpd: rate ${(ours.perSecond / theirs.perSecond).toFixed(2)}x, p50 latency ${(ours.p50 / theirs.p50).toFixed(2)}x\n`);
  } finally {
    labDown(T);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
