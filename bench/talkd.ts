/**
 * LOOK_UP request/response benchmark: talkgate talkd versus netkit talkd (/usr/sbin/in.ntalkd,
 * Debian package `talkd`), both on loopback in the same run. netkit runs as under inetd: we
 * create its UDP socket and pass it as fd 0, 1 and 2, as inetd does (netkit reads requests from
 * fd 0 but sends its replies with sendto(1, ...): with only fd 0 a socket, every reply fails with
 * ENOTSOCK and no request is ever answered). Bounded: each phase stops after BENCH_REQUESTS
 * replies or BENCH_MS.
 *
 * The primary measure is the CPU time each daemon process spends per answered request (utime +
 * stime of /proc/PID/stat, all its threads, over the throughput phase): a shared machine can slow
 * a daemon down but hardly make it do less work per request. Throughput (closed loop, CONCURRENCY
 * sockets) is secondary, latency p50/p99 (one socket, one request at a time) informative. At
 * least MIN_ROUNDS rounds, interleaved (which daemon goes first alternates); the report gives each
 * round, the median and spread (min..max) per daemon, and "met"/"not met" (bench/verdict.ts) from the
 * median of the per-round ratios.
 *   node dist/bench/talkd.js            (BENCH_ROUNDS, BENCH_REQUESTS, BENCH_MS to change the size)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNtalkCtlMsg, sockAddr } from '../src/protocol/index.js';
import { RequestType } from '../src/protocol/talk-types.js';
import { bindUdpSocketFd, socketLocalAddress } from '../src/native/fd-datagram-endpoint.js';
import { libc } from '../src/native/libc.js';
import { machineLine, MIN_ROUNDS, procCpuMs, ratios, roundsLine, verdictLine } from './verdict.js';
import { msSince } from './bench-util.js';

const BENCH_REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 20_000);
const BENCH_MS = Number(process.env['BENCH_MS'] ?? 5_000);
const CONCURRENCY = 8;
const REPLY_TIMEOUT_MS = 200;
/** Rounds per daemon, alternating which goes first (the machine is shared: this evens out load drift). */
const ROUNDS = Math.max(MIN_ROUNDS, Number(process.env['BENCH_ROUNDS'] ?? 7));
/** Targets (issue 17): CPU per request at most netkit's (primary), throughput at least netkit's. */
const CPU_RATIO_TARGET = 1.0;
const THROUGHPUT_RATIO_TARGET = 1.0;
const LATENCY_REQUESTS = 10_000;
const NETKIT = '/usr/sbin/in.ntalkd';

function root(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}

async function socket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

/** One socket, one request at a time; returns per-request latencies (ms) and lost count. */
async function worker(port: number, deadline: number, budget: { left: number }): Promise<{ lat: number[]; lost: number }> {
  const s = await socket();
  const msg = encodeNtalkCtlMsg({
    version: 1, type: RequestType.LOOK_UP, id: 0, addr: sockAddr('127.0.0.1', 0),
    ctlAddr: sockAddr('127.0.0.1', s.address().port), pid: 1, lName: 'bob', rName: 'alice', rTty: '',
  });
  const lat: number[] = [];
  let lost = 0;
  try {
    while (budget.left > 0 && Date.now() < deadline) {
      budget.left--;
      const t0 = process.hrtime.bigint();
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          s.removeAllListeners('message');
          resolve(false);
        }, REPLY_TIMEOUT_MS);
        s.once('message', () => {
          clearTimeout(t);
          resolve(true);
        });
        s.send(msg, port, '127.0.0.1');
      });
      if (ok) lat.push(msSince(t0));
      else lost++;
    }
  } finally {
    s.close();
  }
  return { lat, lost };
}

interface Round {
  rps: number;
  lat: number[];
  lost: number;
  /** Daemon CPU time per answered request during the throughput phase (µs). */
  cpuUs: number;
}

/** One round against one daemon: warm-up, closed-loop throughput, then one-at-a-time latencies. */
async function measure(port: number, pid: number | undefined): Promise<Round> {
  await worker(port, Date.now() + 500, { left: 500 });
  const budget = { left: BENCH_REQUESTS };
  const cpu0 = procCpuMs(pid ?? -1);
  const start = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(port, Date.now() + BENCH_MS, budget)));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = (procCpuMs(pid ?? -1) - cpu0) / 1000;
  const done = runs.reduce((n, r) => n + r.lat.length, 0);
  const single = await worker(port, Date.now() + BENCH_MS, { left: Math.min(BENCH_REQUESTS, LATENCY_REQUESTS) });
  return { rps: done / secs, lat: single.lat, lost: runs.reduce((n, r) => n + r.lost, 0) + single.lost, cpuUs: (cpu / done) * 1e6 };
}

interface Summary {
  rps: number;
  rpsMin: number;
  rpsMax: number;
  cpuUs: number;
  cpuMin: number;
  cpuMax: number;
  p50: number;
  p99: number;
  lost: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Medians and spread of the rounds; latency quantiles of all rounds pooled. */
function summarise(rounds: readonly Round[]): Summary {
  const rps = rounds.map((r) => r.rps);
  const cpu = rounds.map((r) => r.cpuUs);
  const sorted = rounds.flatMap((r) => r.lat).sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return {
    rps: median(rps), rpsMin: Math.min(...rps), rpsMax: Math.max(...rps),
    cpuUs: median(cpu), cpuMin: Math.min(...cpu), cpuMax: Math.max(...cpu),
    p50: q(0.5), p99: q(0.99), lost: rounds.reduce((n, r) => n + r.lost, 0),
  };
}

function startWithFd(argv: string[]): { child: ChildProcess; port: number } {
  const fd = bindUdpSocketFd('127.0.0.1', 0);
  const { port } = socketLocalAddress(fd);
  const [cmd, ...args] = argv as [string, ...string[]];
  // inetd dup2()s the service socket onto fds 0, 1 and 2; in.ntalkd replies through fd 1.
  const child = spawn(cmd, args, { stdio: [fd, fd, fd] });
  libc().close(fd);
  return { child, port };
}

async function freePort(): Promise<number> {
  const s = await socket();
  const p = s.address().port;
  s.close();
  return p;
}

function fmt(r: Summary): string {
  return (
    `CPU ${r.cpuUs.toFixed(1)} us/req (spread ${r.cpuMin.toFixed(1)}..${r.cpuMax.toFixed(1)})   ` +
    `${r.rps.toFixed(0)} req/s (spread ${r.rpsMin.toFixed(0)}..${r.rpsMax.toFixed(0)})   ` +
    `p50 ${r.p50.toFixed(3)} ms   p99 ${r.p99.toFixed(3)} ms   lost ${r.lost}`
  );
}

async function main(): Promise<void> {
  if (!existsSync(NETKIT)) {
    process.stderr.write(`bench/talkd: ${NETKIT} missing; install it with: apt-get install -y talkd\n`);
    process.exitCode = 2;
    return;
  }
  const port = await freePort();
  const ours = spawn(
    process.execPath,
    [join(root(), 'bin', 'talkgate.js'), 'talkd', '--port', String(port), '--no-otalk', '--bind', '127.0.0.1',
      '--utmp', '/nonexistent', '--rate', '1000000'],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const netkit = startWithFd([NETKIT]);
  try {
    await new Promise((r) => setTimeout(r, 700));
    const ra: Round[] = [];
    const rb: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        ra.push(await measure(port, ours.pid));
        rb.push(await measure(netkit.port, netkit.child.pid));
      } else {
        rb.push(await measure(netkit.port, netkit.child.pid));
        ra.push(await measure(port, ours.pid));
      }
    }
    const a = summarise(ra);
    const b = summarise(rb);
    const out = (line: string): boolean => process.stdout.write(`${line}\n`);
    out(
      `LOOK_UP on loopback; ${ROUNDS} interleaved rounds; throughput: ${CONCURRENCY} concurrent sockets, closed loop, ` +
        `up to ${BENCH_REQUESTS} requests or ${BENCH_MS} ms; latency: 1 socket; CPU: utime+stime of the daemon process ` +
        `(/proc/PID/stat) over the throughput phase`,
    );
    out(machineLine(cpus().length, `load average ${loadavg()[0]!.toFixed(1)} (shared machine: wall clock is noisy, CPU decides)`));
    for (let i = 0; i < ROUNDS; i++) {
      const x = ra[i];
      const y = rb[i];
      if (x === undefined || y === undefined) continue;
      out(
        `  round ${i + 1} (${i % 2 === 0 ? 'talkgate' : 'netkit'} first): talkgate ${x.cpuUs.toFixed(1)} us/req ` +
          `${x.rps.toFixed(0)} req/s | netkit ${y.cpuUs.toFixed(1)} us/req ${y.rps.toFixed(0)} req/s | ` +
          `CPU ratio ${(x.cpuUs / y.cpuUs).toFixed(2)}`,
      );
    }
    out(`talkgate talkd: ${fmt(a)}`);
    out(`netkit talkd:   ${fmt(b)}`);
    out(roundsLine('talkgate CPU per request', ra.map((r) => r.cpuUs), 'µs', 1));
    out(roundsLine('netkit CPU per request  ', rb.map((r) => r.cpuUs), 'µs', 1));
    out(roundsLine('talkgate throughput', ra.map((r) => r.rps), 'req/s', 0));
    out(roundsLine('netkit throughput  ', rb.map((r) => r.rps), 'req/s', 0));
    out(verdictLine('primary (CPU)', 'talkgate / netkit CPU per request', ratios(ra.map((r) => r.cpuUs), rb.map((r) => r.cpuUs)), '<=', CPU_RATIO_TARGET));
    out(verdictLine('secondary (wall clock)', 'talkgate / netkit throughput', ratios(ra.map((r) => r.rps), rb.map((r) => r.rps)), '>=', THROUGHPUT_RATIO_TARGET));
    out(`talkgate p99: ${a.p99.toFixed(3)} ms (informative; target <= 1 ms)`);
    out(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()} (a shared machine: rounds spread with it)`);
  } finally {
    ours.kill('SIGTERM');
    netkit.child.kill('SIGTERM');
  }
}

await main();
