/**
 * LOOK_UP request/response benchmark: talkgate talkd versus netkit talkd (/usr/sbin/in.ntalkd,
 * Debian package `talkd`), both on loopback in the same run. netkit runs as under inetd: we
 * create its UDP socket and pass it as fd 0, 1 and 2, as inetd does (netkit reads requests from
 * fd 0 but sends its replies with sendto(1, ...): with only fd 0 a socket, every reply fails with
 * ENOTSOCK and no request is ever answered). Bounded: each phase stops after BENCH_REQUESTS
 * replies or BENCH_MS. Prints throughput (closed loop, CONCURRENCY sockets), latency p50/p99
 * (one socket, one request at a time) and the ratios, over BENCH_ROUNDS alternating rounds.
 *   node dist/bench/talkd.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNtalkCtlMsg, sockAddr } from '../src/protocol/index.js';
import { RequestType } from '../src/protocol/talk-types.js';
import { bindUdpSocketFd, socketLocalAddress } from '../src/native/fd-datagram-endpoint.js';
import { libc } from '../src/native/libc.js';

const BENCH_REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 20_000);
const BENCH_MS = Number(process.env['BENCH_MS'] ?? 5_000);
const CONCURRENCY = 8;
const REPLY_TIMEOUT_MS = 200;
/** Rounds per daemon, alternating which goes first (the machine is shared: this evens out load drift). */
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
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
      if (ok) lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      else lost++;
    }
  } finally {
    s.close();
  }
  return { lat, lost };
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  lost: number;
  cpuUs: number;
}

/** One round against one daemon: warm-up, closed-loop throughput, then one-at-a-time latencies. */
/** utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and 15), or NaN. */
function cpuTicks(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return NaN;
  }
}
/** USER_HZ: clock ticks per second on Linux. */
const TICKS_PER_SECOND = 100;

interface Round {
  rps: number;
  lat: number[];
  lost: number;
  /** Daemon CPU time per answered request during the throughput phase (µs). */
  cpuUs: number;
}

async function measure(port: number, pid: number | undefined): Promise<Round> {
  await worker(port, Date.now() + 500, { left: 500 });
  const budget = { left: BENCH_REQUESTS };
  const cpu0 = cpuTicks(pid);
  const start = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(port, Date.now() + BENCH_MS, budget)));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = (cpuTicks(pid) - cpu0) / TICKS_PER_SECOND;
  const done = runs.reduce((n, r) => n + r.lat.length, 0);
  const single = await worker(port, Date.now() + BENCH_MS, { left: Math.min(BENCH_REQUESTS, LATENCY_REQUESTS) });
  return { rps: done / secs, lat: single.lat, lost: runs.reduce((n, r) => n + r.lost, 0) + single.lost, cpuUs: (cpu / done) * 1e6 };
}

/** Median round throughput and the quantiles of all rounds' latencies pooled. */
function summarise(rounds: readonly Round[]): Result {
  const rps = rounds.map((r) => r.rps).sort((a, b) => a - b);
  const cpu = rounds.map((r) => r.cpuUs).sort((a, b) => a - b);
  const sorted = rounds.flatMap((r) => r.lat).sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)] ?? NaN;
  return { rps: median(rps), p50: q(0.5), p99: q(0.99), lost: rounds.reduce((n, r) => n + r.lost, 0), cpuUs: median(cpu) };
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

function fmt(r: Result): string {
  return `${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(3)} ms   p99 ${r.p99.toFixed(3)} ms   lost ${r.lost}   daemon CPU ${r.cpuUs.toFixed(1)} us/req`;
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
    process.stdout.write(
      `LOOK_UP on loopback, ${CONCURRENCY} concurrent sockets for throughput, 1 for latency; ` +
        `${ROUNDS} alternating rounds (median throughput, pooled latencies)\n`,
    );
    process.stdout.write(`talkgate talkd: ${fmt(a)}   rounds ${ra.map((r) => r.rps.toFixed(0)).join(' ')}\n`);
    process.stdout.write(`netkit talkd:   ${fmt(b)}   rounds ${rb.map((r) => r.rps.toFixed(0)).join(' ')}\n`);
    process.stdout.write(`throughput ratio (talkgate / netkit): ${(a.rps / b.rps).toFixed(2)}   target >= 1.0\n`);
    process.stdout.write(`talkgate p99: ${a.p99.toFixed(3)} ms   target <= 1 ms\n`);
  } finally {
    ours.kill('SIGTERM');
    netkit.child.kill('SIGTERM');
  }
}

await main();
