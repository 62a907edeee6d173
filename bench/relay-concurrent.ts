/**
 * Benchmark (issue 4): 10,000 concurrent relayed talk calls on loopback.
 *
 * The relay (RelayManager, sanitising on, as the gateway runs by default) lives in this process;
 * synthetic talk peers (callers and echoing callees) live in a forked child so the relay's memory
 * is measured alone. Addresses are spread over 127.0.0.0/8 (callers 127.0.2.x, callees 127.0.1.x,
 * relay onward binds 127.0.4.x) to avoid ephemeral port exhaustion. Loopback only.
 *
 * Reports: relay memory per call (RSS and V8 heap delta ÷ calls; target ≤ 16 KiB) and keystroke
 * echo latency p99 through the relay (target ≤ 5 ms), against the same keystroke load on direct
 * loopback connections measured in the same run.
 *
 * Needs about 4 file descriptors per call in the child: the script re-executes itself under
 * `ulimit -n` (root, or a hard limit that allows it); otherwise it lowers the call count and says so.
 * Run: node dist/bench/relay-concurrent.js [calls] [keys-per-second] [seconds]
 */
import { fork, spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/shared/clock.js';
import { RelayManager } from '../src/gateway/relay/relay-manager.js';

const SELF = fileURLToPath(import.meta.url);
const CALLS = Number(process.argv[2] ?? 10_000);
const KEYS_PER_SECOND = Number(process.argv[3] ?? 2_000);
const SECONDS = Math.min(Number(process.argv[4] ?? 5), 30);
const BATCH = 500;
const CALLEE_HOSTS = 20;
const SPREAD = 100;
const FD_NEED = CALLS * 4 + 1_000;
const KIB = 1024;

type ToChild =
  | { type: 'connect'; batch: { port: number; peer: string }[] }
  | { type: 'direct'; n: number }
  | { type: 'latency'; set: 'relay' | 'direct'; rate: number; ms: number }
  | { type: 'exit' };
type FromChild =
  | { type: 'ready'; callees: { address: string; port: number }[] }
  | { type: 'connected'; n: number; failed: number }
  | { type: 'latency'; samples: number; p50: number; p99: number; max: number; lost: number };

const EDIT = Buffer.from([0x7f, 0x15, 0x17]);

// ---------------------------------------------------------------- child: synthetic talk peers
async function peers(): Promise<void> {
  const send = (m: FromChild): void => void process.send!(m);
  const callers: { relay: Caller[]; direct: Caller[] } = { relay: [], direct: [] };
  const callees: { address: string; port: number }[] = [];
  for (let i = 1; i <= CALLEE_HOSTS; i++) {
    const server = net.createServer({ noDelay: true }, (s) => {
      s.on('error', () => undefined);
      s.write(EDIT);
      let edit = 0;
      s.on('data', (d: Buffer) => {
        if (edit < 3) {
          const take = Math.min(3 - edit, d.length);
          edit += take;
          d = d.subarray(take);
        }
        if (d.length > 0) s.write(d); // echo keystrokes
      });
    });
    server.listen(0, `127.0.1.${i}`);
    await new Promise((r) => server.once('listening', r));
    callees.push({ address: `127.0.1.${i}`, port: (server.address() as net.AddressInfo).port });
  }

  class Caller {
    readonly s: net.Socket;
    sentAt = 0;
    edit = 0;
    alive = true;
    constructor(port: number, host: string, localAddress: string, onReady: (ok: boolean) => void) {
      this.s = net.connect({ port, host, localAddress, noDelay: true });
      this.s.on('error', () => onReady(false));
      this.s.on('close', () => (this.alive = false));
      this.s.on('connect', () => this.s.write(EDIT));
      this.s.on('data', (d: Buffer) => {
        if (this.edit < 3) {
          this.edit += d.length;
          if (this.edit >= 3) onReady(true);
          return;
        }
        if (this.sentAt !== 0) {
          latencies.push(performance.now() - this.sentAt);
          this.sentAt = 0;
        }
      });
    }
  }
  let latencies: number[] = [];

  const connectAll = async (specs: { port: number; host: string; local: string }[], into: Caller[]): Promise<number> => {
    let failed = 0;
    await Promise.all(
      specs.map(
        (sp) =>
          new Promise<void>((resolve) => {
            let done = false;
            const c = new Caller(sp.port, sp.host, sp.local, (ok) => {
              if (done) return;
              done = true;
              if (ok) into.push(c);
              else failed++;
              resolve();
            });
          }),
      ),
    );
    return failed;
  };

  process.on('message', (m: ToChild) => {
    void (async () => {
      if (m.type === 'connect') {
        const failed = await connectAll(m.batch.map((b) => ({ port: b.port, host: '127.0.0.1', local: b.peer })), callers.relay);
        send({ type: 'connected', n: m.batch.length - failed, failed });
      } else if (m.type === 'direct') {
        let failed = 0;
        for (let i = 0; i < m.n; i += BATCH) {
          const specs = Array.from({ length: Math.min(BATCH, m.n - i) }, (_, k) => {
            const j = i + k;
            const callee = callees[j % callees.length]!;
            return { port: callee.port, host: callee.address, local: `127.0.2.${(j % SPREAD) + 1}` };
          });
          failed += await connectAll(specs, callers.direct);
        }
        send({ type: 'connected', n: m.n - failed, failed });
      } else if (m.type === 'latency') {
        latencies = [];
        const set = (callers[m.set] = callers[m.set].filter((c) => c.alive));
        const perTick = Math.max(1, Math.round(m.rate / 1000));
        let lost = 0;
        let next = 0;
        const t0 = performance.now();
        const tick = setInterval(() => {
          for (let k = 0; k < perTick; k++) {
            const c = set[next++ % set.length]!;
            if (c.sentAt !== 0) {
              lost++;
              continue;
            }
            c.sentAt = performance.now();
            c.s.write('k');
          }
          if (performance.now() - t0 >= m.ms) {
            clearInterval(tick);
            setTimeout(() => {
              const sorted = latencies.slice().sort((a, b) => a - b);
              const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
              for (const c of set) {
                if (c.sentAt !== 0) lost++;
                c.sentAt = 0;
              }
              send({ type: 'latency', samples: sorted.length, p50: q(0.5), p99: q(0.99), max: sorted.at(-1) ?? NaN, lost });
            }, 500);
          }
        }, 1);
      } else {
        process.exit(0);
      }
    })();
  });
  send({ type: 'ready', callees });
}

// ---------------------------------------------------------------- parent: the relay
async function main(): Promise<void> {
  const calls = fitCalls();
  const gc = (globalThis as { gc?: () => void }).gc;
  const collect = (): void => {
    for (let i = 0; i < 3; i++) gc?.();
  };
  const child = fork(SELF, ['peers', String(calls)], { stdio: 'inherit' });
  const inbox: FromChild[] = [];
  const waiters: ((m: FromChild) => void)[] = [];
  child.on('message', (m: FromChild) => {
    const w = waiters.shift();
    if (w !== undefined) w(m);
    else inbox.push(m);
  });
  const next = <T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child sent no ${type} within 120 s`)), 120_000);
      const take = (m: FromChild): void => {
        clearTimeout(timer);
        if (m.type !== type) reject(new Error(`expected ${type}, got ${m.type}`));
        else resolve(m as Extract<FromChild, { type: T }>);
      };
      const queued = inbox.shift();
      if (queued !== undefined) take(queued);
      else waiters.push(take);
    });
  const ask = (m: ToChild): void => void child.send(m);

  const { callees } = await next('ready');
  let ended = 0;
  const mgr = new RelayManager({
    portRange: { min: 45000, max: 45999 },
    maxRelays: calls + 10,
    clock: systemClock,
    logger: { info() {}, warn() {}, error() {}, child() { return this; } },
    events: { onConnected() {}, onEnded: () => void ended++, onRefusedConnection() {} },
  });
  const openBatch = async (from: number, n: number, tag: string): Promise<{ port: number; peer: string }[]> => {
    const out: { port: number; peer: string }[] = [];
    for (let i = from; i < from + n; i++) {
      const peer = `127.0.2.${(i % SPREAD) + 1}`;
      const callee = callees[i % callees.length]!;
      const r = await mgr.open({
        callId: `${tag}${i}`,
        listenAddress: '127.0.0.1',
        expectedPeer: peer,
        target: callee,
        bindAddress: `127.0.4.${(i % SPREAD) + 1}`,
        acceptDeadlineMs: 60_000,
        idleTimeoutMs: 600_000,
        maxDurationMs: 3_600_000,
        sanitize: true,
      });
      if (!r.ok) throw new Error(`relay open failed: ${r.reason} ${r.detail}`);
      out.push({ port: r.port, peer });
    }
    return out;
  };

  // Warm-up: JIT and allocator, then drop the warm-up calls.
  ask({ type: 'connect', batch: await openBatch(0, 200, 'w') });
  await next('connected');
  mgr.closeAll();
  await new Promise((r) => setTimeout(r, 500));
  collect();
  const before = process.memoryUsage();

  const t0 = performance.now();
  let connected = 0;
  for (let i = 0; i < calls; i += BATCH) {
    const n = Math.min(BATCH, calls - i);
    ask({ type: 'connect', batch: await openBatch(i, n, 'c') });
    const r = await next('connected');
    connected += r.n;
    if (r.failed > 0) console.error(`  ${r.failed} connections failed in batch at ${i}`);
  }
  const setupS = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 300));
  collect();
  const after = process.memoryUsage();
  const rssPerCall = (after.rss - before.rss) / connected;
  const heapPerCall = (after.heapUsed - before.heapUsed) / connected;
  const extPerCall = (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / connected;

  ask({ type: 'latency', set: 'relay', rate: KEYS_PER_SECOND, ms: SECONDS * 1000 });
  const relayLat = await next('latency');
  collect();
  const afterTyping = process.memoryUsage();

  ask({ type: 'direct', n: calls });
  const direct = await next('connected');
  ask({ type: 'latency', set: 'direct', rate: KEYS_PER_SECOND, ms: SECONDS * 1000 });
  const directLat = await next('latency');

  const relaysAlive = mgr.size;
  mgr.closeAll();
  ask({ type: 'exit' });

  const f = (x: number, d = 2): string => x.toFixed(d);
  console.log(`relay-concurrent: ${connected} of ${calls} relayed calls up in ${f(setupS)} s (sanitising on), ${relaysAlive} alive at the end`);
  console.log(`  memory per call (relay process): RSS ${f(rssPerCall / KIB)} KiB, V8 heap ${f(heapPerCall / KIB)} KiB, external ${f(extPerCall / KIB)} KiB  (target <= 16 KiB)`);
  console.log(`  RSS per call after ${SECONDS} s of typing: ${f((afterTyping.rss - before.rss) / connected / KIB)} KiB`);
  console.log(`  keystroke load: ${KEYS_PER_SECOND} keys/s requested (${f(relayLat.samples / SECONDS, 0)}/s echoed) spread over the calls for ${SECONDS} s, each echoed by the callee`);
  console.log(`  echo latency through relay: p50 ${f(relayLat.p50, 3)} ms, p99 ${f(relayLat.p99, 3)} ms, max ${f(relayLat.max, 3)} ms (${relayLat.samples} samples, ${relayLat.lost} lost)  (target p99 <= 5 ms)`);
  console.log(`  reference, direct loopback (${direct.n} connections): p50 ${f(directLat.p50, 3)} ms, p99 ${f(directLat.p99, 3)} ms, max ${f(directLat.max, 3)} ms (${directLat.samples} samples, ${directLat.lost} lost)`);
  console.log(`  ratio p99 relay / direct: ${f(relayLat.p99 / directLat.p99)}`);
  setTimeout(() => process.exit(0), 200).unref();
}

/** The call count that fits the descriptor limit (raised by the re-execution below when allowed). */
function fitCalls(): number {
  const soft = Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isFinite(soft) || soft >= FD_NEED) return CALLS;
  const fit = Math.max(100, Math.floor((soft - 1_000) / 4));
  console.log(`relay-concurrent: cannot raise the file descriptor limit to ${FD_NEED} (ulimit -n is ${soft}); running ${fit} calls`);
  return fit;
}

if (process.argv[2] === 'peers') {
  void peers();
} else if (process.env['TG_BENCH_ULIMIT'] === undefined && (globalThis as { gc?: unknown }).gc === undefined) {
  // Re-execute with --expose-gc (and a raised ulimit) so memory is measured after collection.
  const r = spawnSync(
    'sh',
    ['-c', `ulimit -n ${FD_NEED} 2>/dev/null; exec "$0" --expose-gc "$@"`, process.execPath, SELF, ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, TG_BENCH_ULIMIT: '1' } },
  );
  process.exit(r.status ?? 1);
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
