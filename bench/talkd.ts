/**
 * LOOK_UP request/response benchmark: talkgate talkd versus netkit talkd (/usr/sbin/in.ntalkd,
 * Debian package `talkd`), both on loopback in the same run. netkit runs as under inetd: we
 * create its UDP socket and pass it as fd 0. Bounded: each phase stops after BENCH_REQUESTS
 * replies or BENCH_MS. Prints throughput (closed loop, CONCURRENCY sockets), latency p50/p99
 * (one socket, one request at a time) and the ratios.
 *   node dist/bench/talkd.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
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
}

async function measure(port: number): Promise<Result> {
  // Warm-up.
  await worker(port, Date.now() + 500, { left: 500 });
  const budget = { left: BENCH_REQUESTS };
  const start = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(port, Date.now() + BENCH_MS, budget)));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const done = runs.reduce((n, r) => n + r.lat.length, 0);
  const single = await worker(port, Date.now() + BENCH_MS, { left: Math.min(BENCH_REQUESTS, 10_000) });
  const sorted = single.lat.sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { rps: done / secs, p50: q(0.5), p99: q(0.99), lost: runs.reduce((n, r) => n + r.lost, 0) + single.lost };
}

function startWithFd(argv: string[]): { child: ChildProcess; port: number } {
  const fd = bindUdpSocketFd('127.0.0.1', 0);
  const { port } = socketLocalAddress(fd);
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: [fd, 'ignore', 'ignore'] });
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
  return `${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(3)} ms   p99 ${r.p99.toFixed(3)} ms   lost ${r.lost}`;
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
    const a = await measure(port);
    const b = await measure(netkit.port);
    process.stdout.write(`LOOK_UP on loopback, ${CONCURRENCY} concurrent sockets for throughput, 1 for latency\n`);
    process.stdout.write(`talkgate talkd: ${fmt(a)}\n`);
    process.stdout.write(`netkit talkd:   ${fmt(b)}\n`);
    process.stdout.write(`throughput ratio (talkgate / netkit): ${(a.rps / b.rps).toFixed(2)}   target >= 1.0\n`);
    process.stdout.write(`talkgate p99: ${a.p99.toFixed(3)} ms   target <= 1 ms\n`);
  } finally {
    ours.kill('SIGTERM');
    netkit.child.kill('SIGTERM');
  }
}

await main();
