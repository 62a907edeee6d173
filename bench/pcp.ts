/**
 * PCP MAP benchmark: talkgate middlebox versus miniupnpd (Debian miniupnpd-nftables 2.3.1) in
 * the same run, same namespaces (test/lab TOPO_UPNP: tgp-uin ─ tgp-ugw ─ tgp-uout; miniupnpd
 * needs a non-reserved WAN address, 100.200.0.1, which exists only inside them). The client is
 * talkgate's PcpClient in tgp-uin; each iteration is one MAP create and one MAP delete (lifetime
 * 0 with the nonce) of a distinct internal port, one request at a time, so every request also
 * commits an nft change on the server. talkgate runs twice: libnftables in process (default) and
 * `--nft exec` (one `nft -j` process per batch). Bounded: BENCH_PCP_N iterations (default 200) per
 * server per round, BENCH_PCP_ROUNDS rounds (default 5), every server started afresh each round.
 * Verdicts (bench/verdict.ts), from the median of per-round ratios: primary, the server's CPU per
 * request (utime + stime of all its processes, schedstat) talkgate (lib) / miniupnpd <= 1;
 * secondary, the MAP rate talkgate (lib) / miniupnpd >= 5.
 * Needs root; only namespace addresses are used.
 *   node dist/bench/pcp.js      (or: npx tsx bench/pcp.ts)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientDriver, TOPO_UPNP as T, labDown, labUp, repoRoot, waitFor } from '../test/lab/pcp-lab.js';
import { miniupnpd } from '../test/lab/pcp-miniupnpd.lab.js';
import { machineLine, MIN_ROUNDS, ratios, roundsLine, treeCpuMs, verdictLine } from './verdict.js';

const N = Math.min(Number(process.env['BENCH_PCP_N'] ?? 200), 10_000);
/** Interleaved rounds (issue 17: at least MIN_ROUNDS); each starts every server afresh, in rotating order. */
const ROUNDS = Math.max(MIN_ROUNDS, Math.min(Number(process.env['BENCH_PCP_ROUNDS'] ?? MIN_ROUNDS), 20));
/** Issue 17: keep the MAP rate >= 5x miniupnpd's; CPU per request at most miniupnpd's (the issue's "beat the C reference"). */
const RATE_RATIO_TARGET = 5;
const CPU_RATIO_TARGET = 1;
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

/** One server's figures in one round: the client's rate and p50, and the server's CPU per request. */
interface Round {
  perSecond: number;
  p50: number;
  cpuUsPerRequest: number;
}

/** Runs the bench against a started server whose processes are rooted at `pid`. */
async function measured(label: string, pid: number): Promise<Round> {
  const c0 = treeCpuMs(pid);
  const r = await bench(label);
  const cpu = treeCpuMs(pid) - c0;
  if (r.failures > 0) throw new Error(`${label}: ${r.failures} requests failed`);
  return { perSecond: r.perSecond, p50: r.p50, cpuUsPerRequest: (cpu * 1000) / r.requests };
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
  const servers = ['talkgate (nft lib)', 'talkgate (nft exec)', 'miniupnpd 2.3.1'] as const;
  const rounds: Record<(typeof servers)[number], Round[]> = { 'talkgate (nft lib)': [], 'talkgate (nft exec)': [], 'miniupnpd 2.3.1': [] };
  const talkgate = async (how: 'lib' | 'exec'): Promise<Round> => {
    const mb = spawn('ip', ['netns', 'exec', T.ns.box, process.execPath, bin, 'middlebox', '--config', conf, '--nft', how], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitFor(mb, /listening on/, 15_000);
      return await measured(`talkgate (nft ${how})`, mb.pid ?? -1);
    } finally {
      mb.kill('SIGTERM');
      await new Promise((res) => mb.once('exit', res));
    }
  };
  const upnpRound = async (): Promise<Round> => {
    const upnp = miniupnpd(T);
    try {
      await upnp.start();
      const pid = Number(readFileSync(join(upnp.dir, 'pid'), 'utf8').trim());
      return await measured('miniupnpd 2.3.1', pid);
    } finally {
      await upnp.stop();
      rmSync(upnp.dir, { recursive: true, force: true });
    }
  };
  try {
    process.stdout.write(`PCP MAP create+delete, ${N} iterations per server per round (${2 * N} requests), sequential, ${ROUNDS} interleaved rounds (the server order rotates)\n`);
    for (let r = 0; r < ROUNDS; r++) {
      const order = [...servers.slice(r % servers.length), ...servers.slice(0, r % servers.length)];
      for (const s of order) rounds[s].push(s === 'miniupnpd 2.3.1' ? await upnpRound() : await talkgate(s === 'talkgate (nft lib)' ? 'lib' : 'exec'));
    }
    process.stdout.write(`${machineLine(cpus().length, `load average ${loadavg()[0]!.toFixed(1)} (shared machine)`)}\n`);
    for (const s of servers) {
      process.stdout.write(`${roundsLine(`${s.padEnd(20)} server CPU per request (all its processes)`, rounds[s].map((x) => x.cpuUsPerRequest), 'µs', 0)}\n`);
      process.stdout.write(`${roundsLine(`${s.padEnd(20)} rate`, rounds[s].map((x) => x.perSecond), 'req/s', 0)}\n`);
      process.stdout.write(`${roundsLine(`${s.padEnd(20)} p50`, rounds[s].map((x) => x.p50), 'ms', 2)}\n`);
    }
    const ours = rounds['talkgate (nft lib)'];
    const theirs = rounds['miniupnpd 2.3.1'];
    process.stdout.write(`${roundsLine('p50 latency talkgate (lib) / miniupnpd', ratios(ours.map((x) => x.p50), theirs.map((x) => x.p50)), 'x')}\n`);
    process.stdout.write(
      `${verdictLine('primary (CPU)', 'talkgate (lib) / miniupnpd server CPU per request', ratios(ours.map((x) => x.cpuUsPerRequest), theirs.map((x) => x.cpuUsPerRequest)), '<=', CPU_RATIO_TARGET)}\n`,
    );
    process.stdout.write(`${verdictLine('secondary (wall clock)', 'talkgate (lib) / miniupnpd MAP rate', ratios(ours.map((x) => x.perSecond), theirs.map((x) => x.perSecond)), '>=', RATE_RATIO_TARGET)}\n`);
  } finally {
    labDown(T);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
