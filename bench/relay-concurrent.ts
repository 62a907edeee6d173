/**
 * Benchmark (issue 4): 10,000 concurrent relayed talk calls on loopback.
 *
 * The relay (RelayManager, sanitising on, as the gateway runs by default) lives in this process;
 * synthetic talk peers (callers and echoing callees, each sending the 3 edit characters first)
 * live in forked children (several, so that each stays under its own descriptor limit), so the
 * relay's memory is measured alone. Addresses are spread over 127.0.0.0/8 (callers 127.0.2.x,
 * callees 127.0.(10+child).x, relay onward binds 127.0.4.x) to avoid ephemeral port exhaustion.
 * Loopback only; every phase is bounded in count and time.
 *
 * Reports, in one run:
 * - relay memory per call: (RSS and V8 heap after the calls are up − the same before, both after a
 *   full GC) ÷ calls, right after set-up and after each of the 5 typing rounds (the verdict: the
 *   median of those rounds, target ≤ 16 KiB). The idle baseline is printed as the reference.
 * - keystroke echo latency p99 through the relay (a sample of keystrokes spread round-robin over
 *   all calls, each echoed by the callee); target ≤ 5 ms; against two references measured in the
 *   same run by the same peers with the same load: a minimal Node relay (socket.pipe both ways, no
 *   checks, no sanitising) in this process after the talkgate relays are closed — what any
 *   user-space relay process costs on this machine — and direct loopback connections (no relay).
 *   Each path types in 5 rounds (verdict: the median of the relay's per-round p99, bench/verdict.ts);
 *   the paths cannot be up at once (descriptors), so they run one after the other, not interleaved.
 *   Progress lines go to stderr.
 *
 * Descriptors: the relay holds 2 per call (plus a listener while a call is being set up), each
 * peer child 4 per call (relayed + direct pair). The script re-executes itself with --expose-gc
 * under `ulimit -n 45000` when allowed (root with CAP_SYS_RESOURCE), else under the hard limit; if
 * that is too small for the relay it runs as many calls as fit and says so.
 *
 * Build first: npm run build
 * Run:         node dist/bench/relay-concurrent.js [calls=10000] [keys-per-second=2000] [seconds=5]
 *   (equivalently: ulimit -n 45000; node --expose-gc dist/bench/relay-concurrent.js ...)
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/shared/clock.js';
import { RelayManager } from '../src/gateway/relay/relay-manager.js';
import os from 'node:os';
import { fmt, KIB, quantile, silentRelayLogger, sleep, withTimeout } from './bench-util.js';
import { machineLine, MIN_ROUNDS, ratios, roundsLine, verdictLine } from './verdict.js';

const SELF = fileURLToPath(import.meta.url);
const CALLS = Math.max(1, Math.min(Number(process.argv[2] ?? 10_000), 20_000));
const KEYS_PER_SECOND = Math.max(1, Math.min(Number(process.argv[3] ?? 2_000), 50_000));
const SECONDS = Math.max(1, Math.min(Number(process.argv[4] ?? 5), 30));
/** Typing rounds per path (verdict.ts: at least MIN_ROUNDS), SECONDS / ROUNDS each. */
const ROUNDS = MIN_ROUNDS;
/** Targets (issue 4): at most 16 KiB of RSS per relayed call; echo p99 at most 5 ms. */
const RSS_PER_CALL_TARGET_KIB = 16;
const P99_TARGET_MS = 5;
/** Calls set up at once (relay listeners opened, then the peers connect to them). */
const BATCH = 500;
const CALLEES_PER_CHILD = 20;
/** Distinct loopback source addresses for callers and for the relay's onward connects. */
const SPREAD = 100;
/** Descriptors wanted: relay 2/call; peers 4/call, split over children. */
const FD_WANT = 45_000;
/** Descriptors a process keeps for everything else (stdio, IPC, epoll, listeners of a batch). */
const FD_RESERVE = 700;
/** Longest wait for any answer from a peer child. */
const CHILD_ANSWER_MS = 120_000;
const EDIT = Buffer.from([0x7f, 0x15, 0x17]);

type ToChild =
  | { type: 'connect'; batch: { port: number; peer: string }[] }
  | { type: 'direct'; n: number }
  | { type: 'pipe'; port: number; n: number }
  | { type: 'latency'; set: PeerSet; rate: number; ms: number }
  | { type: 'exit' };
/** Callers through talkgate's relay, through a minimal Node pipe relay, or straight to the callee. */
type PeerSet = 'relay' | 'pipe' | 'direct';
type FromChild =
  | { type: 'ready'; callees: { address: string; port: number }[] }
  | { type: 'connected'; n: number; failed: number }
  | { type: 'latency'; samples: number[]; lost: number };

// ---------------------------------------------------------------- child: synthetic talk peers
async function peers(index: number): Promise<void> {
  const send = (m: FromChild): void => void process.send!(m);
  process.on('disconnect', () => process.exit(0));
  const callers: Record<PeerSet, Caller[]> = { relay: [], pipe: [], direct: [] };
  const callees: { address: string; port: number }[] = [];
  for (let i = 1; i <= CALLEES_PER_CHILD; i++) {
    const address = `127.0.${10 + index}.${i}`;
    const server = net.createServer({ noDelay: true }, (s) => {
      s.on('error', () => undefined);
      s.write(EDIT);
      let edit = 0;
      s.on('data', (d: Buffer) => {
        if (edit < EDIT.length) {
          const take = Math.min(EDIT.length - edit, d.length);
          edit += take;
          d = d.subarray(take);
        }
        if (d.length > 0) s.write(d); // echo keystrokes
      });
    });
    await new Promise<void>((r) => server.listen({ port: 0, host: address, backlog: 1024 }, () => r()));
    callees.push({ address, port: (server.address() as net.AddressInfo).port });
  }

  let latencies: number[] = [];
  class Caller {
    readonly s: net.Socket;
    sentAt = 0;
    edit = 0;
    alive = true;
    constructor(port: number, host: string, localAddress: string, onReady: (ok: boolean) => void) {
      this.s = net.connect({ port, host, localAddress, noDelay: true });
      this.s.on('error', () => onReady(false));
      this.s.on('close', () => {
        this.alive = false;
        onReady(false); // no-op once ready
      });
      this.s.on('connect', () => this.s.write(EDIT));
      this.s.on('data', (d: Buffer) => {
        if (this.edit < EDIT.length) {
          this.edit += d.length;
          if (this.edit >= EDIT.length) onReady(true);
          return;
        }
        if (this.sentAt !== 0) {
          latencies.push(performance.now() - this.sentAt);
          this.sentAt = 0;
        }
      });
    }
  }

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

  const typing = (set: Caller[], rate: number, ms: number): Promise<FromChild> =>
    new Promise((resolve) => {
      latencies = [];
      let lost = 0;
      let next = 0;
      let due = 0;
      const t0 = performance.now();
      const tick = setInterval(() => {
        const elapsed = performance.now() - t0;
        // Keep the requested rate even when ticks come late: send what is due by now.
        const target = Math.floor((Math.min(elapsed, ms) * rate) / 1000);
        for (let k = 0; due < target && k < set.length; k++, due++) {
          const c = set[next++ % set.length]!;
          if (c.sentAt !== 0) {
            lost++;
            continue;
          }
          c.sentAt = performance.now();
          c.s.write('k');
        }
        if (elapsed >= ms) {
          clearInterval(tick);
          setTimeout(() => {
            for (const c of set) {
              if (c.sentAt !== 0) lost++;
              c.sentAt = 0;
            }
            resolve({ type: 'latency', samples: latencies, lost });
          }, 500);
        }
      }, 1);
    });

  process.on('message', (m: ToChild) => {
    void (async () => {
      if (m.type === 'connect') {
        const specs = m.batch.map((b) => ({ port: b.port, host: '127.0.0.1', local: b.peer }));
        const failed = await connectAll(specs, callers.relay);
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
      } else if (m.type === 'pipe') {
        let failed = 0;
        for (let i = 0; i < m.n; i += BATCH) {
          const specs = Array.from({ length: Math.min(BATCH, m.n - i) }, (_, k) => ({
            port: m.port,
            host: '127.0.0.1',
            local: `127.0.2.${((i + k) % SPREAD) + 1}`,
          }));
          failed += await connectAll(specs, callers.pipe);
        }
        send({ type: 'connected', n: m.n - failed, failed });
      } else if (m.type === 'latency') {
        const set = (callers[m.set] = callers[m.set].filter((c) => c.alive));
        send(set.length === 0 ? { type: 'latency', samples: [], lost: 0 } : await typing(set, m.rate, m.ms));
      } else {
        process.exit(0);
      }
    })();
  });
  send({ type: 'ready', callees });
}

/** IPC with one peer child: typed request/answer, in order, every wait bounded. */
class Peer {
  readonly #inbox: FromChild[] = [];
  readonly #waiters: ((m: FromChild) => void)[] = [];
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: FromChild) => {
      const w = this.#waiters.shift();
      if (w !== undefined) w(m);
      else this.#inbox.push(m);
    });
  }
  ask(m: ToChild): void {
    this.proc.send(m);
  }
  next<T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> {
    const got = new Promise<FromChild>((resolve) => {
      const q = this.#inbox.shift();
      if (q !== undefined) resolve(q);
      else this.#waiters.push(resolve);
    });
    return withTimeout(got, CHILD_ANSWER_MS, `peer child (${type})`).then((m) => {
      if (m.type !== type) throw new Error(`expected ${type}, got ${m.type}`);
      return m as Extract<FromChild, { type: T }>;
    });
  }
}

// ---------------------------------------------------------------- parent: the relay
async function main(): Promise<void> {
  const limit = fdLimit();
  const fit = Math.floor((limit - FD_RESERVE) / 2);
  const calls = Math.min(CALLS, fit);
  if (calls < CALLS) {
    console.log(
      `relay-concurrent: RLIMIT_NOFILE is ${limit} and cannot be raised here (hard limit; raising it needs CAP_SYS_RESOURCE):` +
        ` the relay process fits ${calls} calls (2 descriptors each + ${FD_RESERVE} reserve), not ${CALLS}`,
    );
  }
  const perChild = Math.max(100, Math.min(4_000, Math.floor((limit - FD_RESERVE) / 4)));
  const nChildren = Math.ceil(calls / perChild);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) console.log('relay-concurrent: no --expose-gc, memory is measured without a forced GC');
  const collect = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await sleep(50);
    }
  };

  const children: Peer[] = [];
  for (let c = 0; c < nChildren; c++) children.push(new Peer(fork(SELF, ['peers', String(c)], { stdio: 'inherit' })));
  const callees = await Promise.all(children.map(async (p) => (await p.next('ready')).callees));

  const mgr = new RelayManager({
    portRange: { min: 20_000, max: 31_999 },
    maxRelays: calls + BATCH,
    clock: systemClock,
    logger: silentRelayLogger,
    events: { onConnected() {}, onEnded() {}, onRefusedConnection() {} },
  });
  const openBatch = async (from: number, n: number, child: number, tag: string): Promise<{ port: number; peer: string }[]> => {
    const out: { port: number; peer: string }[] = [];
    const mine = callees[child]!;
    for (let i = from; i < from + n; i++) {
      const peer = `127.0.2.${(i % SPREAD) + 1}`;
      const r = await mgr.open({
        callId: `${tag}${i}`,
        listenAddress: '127.0.0.1',
        expectedPeer: peer,
        target: mine[i % mine.length]!,
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
  const setUp = async (from: number, n: number, child: number, tag: string): Promise<number> => {
    let up = 0;
    for (let i = from; i < from + n; i += BATCH) {
      const k = Math.min(BATCH, from + n - i);
      children[child]!.ask({ type: 'connect', batch: await openBatch(i, k, child, tag) });
      const r = await children[child]!.next('connected');
      up += r.n;
      if (r.failed > 0) console.error(`  ${r.failed} connections failed in batch at ${i}`);
    }
    return up;
  };
  type Typed = { samples: number[]; lost: number; roundP99: number[] };
  /** ROUNDS typing rounds of SECONDS / ROUNDS each; `between` runs after each round (a memory reading). */
  const typeAll = async (set: PeerSet, between?: () => Promise<void>): Promise<Typed> => {
    const all: Typed = { samples: [], lost: 0, roundP99: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of children) p.ask({ type: 'latency', set, rate: KEYS_PER_SECOND / nChildren, ms: (SECONDS * 1000) / ROUNDS });
      const rs = await Promise.all(children.map((p) => p.next('latency')));
      const samples = rs.flatMap((x) => x.samples);
      all.samples.push(...samples);
      all.lost += rs.reduce((a, x) => a + x.lost, 0);
      all.roundP99.push(quantile(samples, 0.99));
      await between?.();
    }
    return all;
  };

  // Warm-up: JIT and allocator, then drop the warm-up calls.
  await setUp(0, Math.min(200, calls), 0, 'w');
  mgr.closeAll();
  await sleep(500);
  await collect();
  const before = process.memoryUsage();

  const t0 = performance.now();
  let connected = 0;
  for (let c = 0; c < nChildren; c++) {
    const from = c * perChild;
    connected += await setUp(from, Math.min(perChild, calls - from), c, 'c');
  }
  const setupS = (performance.now() - t0) / 1000;
  await sleep(300);
  await collect();
  const after = process.memoryUsage();
  const per = (a: number, b: number): number => (a - b) / Math.max(1, connected) / KIB;
  const rssPerCall = per(after.rss, before.rss);
  const heapPerCall = per(after.heapUsed, before.heapUsed);
  const extPerCall = per(after.external, before.external);

  progress(`${connected} relayed calls up in ${fmt(setupS)} s; typing through the relay`);
  /** RSS per call after each typing round, after a full GC (one reading per round). */
  const rssPerCallRounds: number[] = [];
  const relayLat = await typeAll('relay', async () => {
    await collect();
    rssPerCallRounds.push(per(process.memoryUsage().rss, before.rss));
  });
  await collect();
  const afterTyping = process.memoryUsage();
  const relaysAlive = mgr.size;
  mgr.closeAll();
  await sleep(500);

  // Reference 1: a minimal Node relay (socket.pipe both ways, no checks, no sanitising) in this
  // process, same calls and load: what any user-space relay process costs on this machine.
  const pipeServers: net.Server[] = [];
  let piped = 0;
  for (let c = 0; c < nChildren; c++) {
    const mine = callees[c]!;
    let rr = 0;
    const srv = net.createServer({ noDelay: true }, (s) => {
      const callee = mine[rr++ % mine.length]!;
      const t = net.connect({ host: callee.address, port: callee.port, noDelay: true });
      s.on('error', () => t.destroy());
      t.on('error', () => s.destroy());
      s.pipe(t);
      t.pipe(s);
    });
    await new Promise<void>((r) => srv.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, () => r()));
    pipeServers.push(srv);
    children[c]!.ask({ type: 'pipe', port: (srv.address() as net.AddressInfo).port, n: Math.min(perChild, calls - c * perChild) });
    piped += (await children[c]!.next('connected')).n;
  }
  progress(`${piped} calls through a minimal pipe relay; typing`);
  const pipeLat = await typeAll('pipe');
  for (const srv of pipeServers) srv.close();

  let direct = 0;
  for (let c = 0; c < nChildren; c++) {
    children[c]!.ask({ type: 'direct', n: Math.min(perChild, calls - c * perChild) });
    direct += (await children[c]!.next('connected')).n;
  }
  progress(`${direct} direct connections; typing`);
  const directLat = await typeAll('direct');

  for (const p of children) p.ask({ type: 'exit' });

  const lat = (l: Typed): string =>
    `p50 ${fmt(quantile(l.samples, 0.5), 3)} ms, p99 ${fmt(quantile(l.samples, 0.99), 3)} ms, max ${fmt(quantile(l.samples, 1), 3)} ms` +
    ` (${l.samples.length} samples, ${l.lost} not echoed)`;
  console.log(`relay-concurrent: ${connected} of ${calls} relayed calls up in ${fmt(setupS)} s (sanitising on, ${nChildren} peer processes), ${relaysAlive} alive at the end`);
  console.log(`  reference, idle relay process after GC: RSS ${fmt(before.rss / KIB / KIB, 1)} MiB, V8 heap ${fmt(before.heapUsed / KIB / KIB, 1)} MiB`);
  console.log(`  with ${connected} calls after GC:       RSS ${fmt(after.rss / KIB / KIB, 1)} MiB, V8 heap ${fmt(after.heapUsed / KIB / KIB, 1)} MiB`);
  console.log(`  memory per call right after set-up: RSS ${fmt(rssPerCall)} KiB, V8 heap ${fmt(heapPerCall)} KiB (external ${fmt(extPerCall)} KiB)`);
  console.log(`  RSS per call after ${SECONDS} s of typing: ${fmt(per(afterTyping.rss, before.rss))} KiB`);
  console.log(`  keystroke load: ${KEYS_PER_SECOND} keys/s round-robin over all calls, ${ROUNDS} rounds of ${fmt(SECONDS / ROUNDS, 1)} s per path, each key echoed by the callee`);
  console.log(`  echo latency through the relay (all rounds): ${lat(relayLat)}`);
  console.log(`  reference, minimal Node pipe relay process (${piped} calls, same load, after the relay's rounds): ${lat(pipeLat)}`);
  console.log(`  reference, direct loopback (${direct} connections, same load, last): ${lat(directLat)}`);
  console.log(machineLine(os.cpus().length, `load average ${os.loadavg()[0]!.toFixed(1)} (shared machine)`));
  console.log(roundsLine('RSS per call after each typing round (after GC)', rssPerCallRounds, 'KiB'));
  console.log(roundsLine('echo p99 through the relay', relayLat.roundP99, 'ms', 3));
  console.log(roundsLine('echo p99 through the minimal pipe relay', pipeLat.roundP99, 'ms', 3));
  console.log(roundsLine('echo p99 direct', directLat.roundP99, 'ms', 3));
  console.log(roundsLine('echo p99 relay / minimal pipe relay (round i against round i; the paths run one after the other)', ratios(relayLat.roundP99, pipeLat.roundP99), ''));
  console.log(verdictLine('primary (memory)', `RSS per relayed call (KiB, target ${RSS_PER_CALL_TARGET_KIB})`, rssPerCallRounds, '<=', RSS_PER_CALL_TARGET_KIB));
  console.log(verdictLine('primary (wall clock)', `echo p99 through the relay (ms, target ${P99_TARGET_MS})`, relayLat.roundP99, '<=', P99_TARGET_MS));
  setTimeout(() => process.exit(0), 300).unref();
}

function progress(msg: string): void {
  process.stderr.write(`relay-concurrent: ${msg}\n`);
}

/** This process's descriptor limit (the re-execution below raised it as far as allowed). */
function fdLimit(): number {
  const soft = Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim());
  return Number.isFinite(soft) && soft > 0 ? soft : 1024;
}

if (process.argv[2] === 'peers') {
  void peers(Number(process.argv[3] ?? 0));
} else if (process.env['TG_BENCH_REEXEC'] === undefined) {
  // Re-execute with --expose-gc (so memory is measured after collection) and a raised ulimit.
  const script = `ulimit -n ${FD_WANT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" --expose-gc "$@"`;
  const r = spawnSync('sh', ['-c', script, process.execPath, SELF, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TG_BENCH_REEXEC: '1' },
    timeout: 15 * 60_000,
  });
  process.exit(r.status ?? 1);
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
