/**
 * Benchmark (issue 4): throughput of one bulk talk stream through the gateway's TCP relay versus
 * `socat TCP-LISTEN:P,reuseaddr TCP:127.0.0.1:SINK` relaying the same stream, on loopback, in one run.
 *
 * The relay is a RelayManager / RelayCall opened exactly as the gateway runtime opens it (one
 * listener accepting one connection from the expected peer, onward connect, sanitising on as by
 * default), in this process. The stream source and sink live in a forked child, so the relay and
 * socat are each a separate process between the same two endpoints. The stream: the 3 edit
 * characters, then talk-like text lines (printable ASCII with some UTF-8 words, CR LF, TAB, BS), at
 * most BYTES bytes or SECONDS seconds, whichever comes first. Variants run interleaved ROUNDS times
 * (at least 5). Each run measures MiB/s and the CPU time of the relaying process per MiB (this
 * process for the gateway relay, /proc/PID/stat of socat). Verdicts (bench/verdict.ts), from the
 * median of per-round ratios: primary, CPU per MiB of socat / relay (target >= 0.8); secondary,
 * MiB/s relay / socat (target >= 0.8); regression check of the sanitiser, CPU per MiB of the relay
 * without / with sanitising (floor SANITISER_CPU_FLOOR: the per-byte machine of 2026-12 scored
 * about 0.4). Loopback only; every run bounded in bytes and time.
 *
 * Build first: npm run build
 * Run:         node dist/bench/relay-throughput.js [MiB=256] [seconds=5] [rounds=5]
 * Needs socat (Debian package socat).
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { RelayManager } from '../src/gateway/relay/relay-manager.js';
import { systemClock } from '../src/shared/clock.js';
import os from 'node:os';
import { talkLikeText } from '../src/gateway/relay/talk-like-text.js';
import { fmt, freePort, MIB, pollUntil, silentRelayLogger, withTimeout } from './bench-util.js';
import { MIN_ROUNDS, machineLine, procCpuMs, ratios, roundsLine, selfCpuMs, verdictLine } from './verdict.js';

const SELF = fileURLToPath(import.meta.url);
const BYTES = Math.min(Number(process.argv[2] ?? 256), 1024) * MIB;
const SECONDS = Math.min(Number(process.argv[3] ?? 5), 30);
const ROUNDS = Math.max(MIN_ROUNDS, Math.min(Number(process.argv[4] ?? MIN_ROUNDS), 15));
/** Regression floor: relay CPU per MiB without sanitising / with it (issue 17). */
const SANITISER_CPU_FLOOR = 0.7;
/** How often socat's CPU time is sampled while it relays (it exits at the end of the stream). */
const SOCAT_CPU_POLL_MS = 20;
/** One run may take the time budget plus this for the tail to drain. */
const RUN_GRACE_MS = 10_000;
const EDIT = Buffer.from([0x7f, 0x15, 0x17]);

type ToChild = { type: 'run'; port: number; bytes: number; ms: number } | { type: 'exit' };
type FromChild = { type: 'ready'; sinkPort: number } | { type: 'done'; sent: number; received: number; ms: number; ok: boolean };

// ---------------------------------------------------------------- child: source and sink
async function child(): Promise<void> {
  const send = (m: FromChild): void => void process.send!(m);
  const block = talkLikeText();
  let onSink: ((s: net.Socket) => void) | undefined;
  const sink = net.createServer((s) => {
    s.on('error', () => undefined);
    onSink?.(s);
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  send({ type: 'ready', sinkPort: (sink.address() as net.AddressInfo).port });

  const run = (port: number, bytes: number, ms: number): Promise<FromChild> =>
    new Promise((resolve) => {
      let received = 0;
      let sent = 0;
      let t0 = 0;
      let finished = false;
      const finish = (ok: boolean): void => {
        if (finished) return;
        finished = true;
        clearTimeout(guard);
        src.destroy();
        resolve({ type: 'done', sent, received, ms: performance.now() - t0, ok });
      };
      const guard = setTimeout(() => finish(false), ms + RUN_GRACE_MS);
      onSink = (s) => {
        s.on('data', (d: Buffer) => {
          received += d.length;
        });
        s.on('end', () => finish(received === sent));
      };
      const src = net.connect({ host: '127.0.0.1', port });
      src.on('error', () => finish(false));
      src.on('connect', () => {
        t0 = performance.now();
        src.write(EDIT);
        sent = EDIT.length;
        pump();
      });
      const pump = (): void => {
        for (;;) {
          if (sent >= bytes || performance.now() - t0 >= ms) {
            src.end();
            return;
          }
          const chunk = bytes - sent >= block.length ? block : block.subarray(0, bytes - sent);
          sent += chunk.length;
          if (!src.write(chunk)) {
            src.once('drain', pump);
            return;
          }
        }
      };
    });

  process.on('message', (m: ToChild) => {
    if (m.type === 'exit') process.exit(0);
    void run(m.port, m.bytes, m.ms).then(send);
  });
}

// ---------------------------------------------------------------- parent: relay and socat
interface Sample {
  mbps: number;
  /** CPU time of the relaying process per MiB relayed. */
  cpuMsPerMiB: number;
  ok: boolean;
}

async function main(): Promise<void> {
  if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).status !== 0) {
    console.error('relay-throughput: socat is not installed (apt-get install socat)');
    process.exitCode = 2;
    return;
  }
  const kid = fork(SELF, ['child'], { stdio: 'inherit' });
  const inbox: FromChild[] = [];
  let waiter: ((m: FromChild) => void) | undefined;
  kid.on('message', (m: FromChild) => {
    if (waiter !== undefined) {
      const w = waiter;
      waiter = undefined;
      w(m);
    } else inbox.push(m);
  });
  const next = (): Promise<FromChild> =>
    withTimeout(
      new Promise<FromChild>((resolve) => {
        const q = inbox.shift();
        if (q !== undefined) resolve(q);
        else waiter = resolve;
      }),
      SECONDS * 1000 + RUN_GRACE_MS + 5_000,
      'source/sink child',
    );
  const ready = await next();
  if (ready.type !== 'ready') throw new Error('child: expected ready');
  const sinkPort = ready.sinkPort;

  /** `cpu()`: the relaying process's CPU time so far (ms). */
  const measure = async (port: number, cpu: () => number): Promise<Sample> => {
    const c0 = cpu();
    kid.send({ type: 'run', port, bytes: BYTES, ms: SECONDS * 1000 } satisfies ToChild);
    const r = await next();
    if (r.type !== 'done') throw new Error('child: expected done');
    const mib = r.received / MIB;
    return { mbps: mib / (r.ms / 1000), cpuMsPerMiB: (cpu() - c0) / mib, ok: r.ok };
  };

  let callNo = 0;
  const mgr = new RelayManager({
    portRange: { min: 46000, max: 46099 },
    maxRelays: 4,
    clock: systemClock,
    logger: silentRelayLogger,
    events: { onConnected() {}, onEnded() {}, onRefusedConnection() {} },
  });
  const viaRelay = async (sanitize: boolean): Promise<Sample> => {
    const r = await mgr.open({
      callId: `tp${++callNo}`,
      listenAddress: '127.0.0.1',
      expectedPeer: '127.0.0.1',
      target: { address: '127.0.0.1', port: sinkPort },
      bindAddress: '127.0.0.1',
      acceptDeadlineMs: 10_000,
      idleTimeoutMs: 60_000,
      maxDurationMs: 3_600_000,
      sanitize,
    });
    if (!r.ok) throw new Error(`relay open: ${r.reason} ${r.detail}`);
    return measure(r.port, selfCpuMs);
  };
  const viaSocat = async (): Promise<Sample> => {
    const port = await freePort();
    const p = spawn('socat', [`TCP-LISTEN:${port},reuseaddr,bind=127.0.0.1`, `TCP:127.0.0.1:${sinkPort}`], { stdio: 'ignore' });
    // socat exits when the stream ends: its CPU time is the last value read while it lived.
    let last = 0;
    const poll = setInterval(() => {
      const v = procCpuMs(p.pid ?? -1);
      if (Number.isFinite(v)) last = v;
    }, SOCAT_CPU_POLL_MS);
    const cpu = (): number => {
      const v = procCpuMs(p.pid ?? -1);
      if (Number.isFinite(v)) last = v;
      return last;
    };
    try {
      const up = await pollUntil(() => listening(port), 3_000);
      if (!up) throw new Error('socat did not listen within 3 s');
      return await measure(port, cpu);
    } finally {
      clearInterval(poll);
      p.kill();
    }
  };

  const results = { relay: [] as Sample[], socat: [] as Sample[], raw: [] as Sample[] };
  await viaRelay(true); // warm-up (JIT), not counted
  for (let i = 0; i < ROUNDS; i++) {
    results.relay.push(await viaRelay(true));
    results.socat.push(await viaSocat());
    results.raw.push(await viaRelay(false));
  }
  kid.send({ type: 'exit' } satisfies ToChild);
  mgr.closeAll();

  const bad = Object.entries(results).flatMap(([k, v]) => (v.some((x) => !x.ok) ? [k] : []));
  const mbps = (s: Sample[]): number[] => s.map((x) => x.mbps);
  const cpu = (s: Sample[]): number[] => s.map((x) => x.cpuMsPerMiB);
  console.log(`relay-throughput: one stream of up to ${BYTES / MIB} MiB or ${SECONDS} s of talk-like text, ${ROUNDS} interleaved rounds`);
  console.log(machineLine(os.cpus().length, `load average ${os.loadavg()[0]!.toFixed(1)} (shared machine: wall clock is noisy, CPU decides)`));
  console.log(roundsLine('gateway relay, sanitising on : CPU per MiB', cpu(results.relay), 'ms', 3));
  console.log(roundsLine('socat (reference)            : CPU per MiB', cpu(results.socat), 'ms', 3));
  console.log(roundsLine('gateway relay, sanitising off: CPU per MiB', cpu(results.raw), 'ms', 3));
  console.log(roundsLine('gateway relay, sanitising on : MiB/s', mbps(results.relay), 'MiB/s', 0));
  console.log(roundsLine('socat (reference)            : MiB/s', mbps(results.socat), 'MiB/s', 0));
  console.log(roundsLine('gateway relay, sanitising off: MiB/s', mbps(results.raw), 'MiB/s', 0));
  console.log(verdictLine('primary (CPU)', 'socat / relay (sanitising) CPU per MiB', ratios(cpu(results.socat), cpu(results.relay)), '>=', 0.8));
  console.log(verdictLine('secondary (wall clock)', 'relay (sanitising) / socat MiB/s', ratios(mbps(results.relay), mbps(results.socat)), '>=', 0.8));
  console.log(
    verdictLine('regression check', 'relay CPU per MiB without / with sanitising', ratios(cpu(results.raw), cpu(results.relay)), '>=', SANITISER_CPU_FLOOR),
  );
  console.log(`  for information: relay (no sanitising) / socat MiB/s, median of rounds ${fmt(ratios(mbps(results.raw), mbps(results.socat)).sort((a, b) => a - b)[ROUNDS >> 1]!)}`);
  if (bad.length > 0) {
    console.log(`  WARNING: incomplete transfers in: ${bad.join(', ')}`);
    process.exitCode = 1;
  }
  setTimeout(() => process.exit(), 200).unref();
}

/** Whether something listens on 127.0.0.1:port, asked of the kernel (`ss`), not by connecting. */
function listening(port: number): boolean {
  const r = spawnSync('ss', ['-Htln', `sport = :${port}`], { encoding: 'utf8' });
  return r.stdout.trim().length > 0;
}

if (process.argv[2] === 'child') {
  void child();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
