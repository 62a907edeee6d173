/**
 * Issue 12: what the privilege boundary costs per hole operation. In a private network namespace
 * (this script re-executes itself under `unshare -n`), one PinholeDataPath (libnftables in process,
 * its own table) opens holes in two ways, interleaved round by round:
 *   - in process: `open()` called directly, as `talkgate gateway --no-privsep` does (the reference);
 *   - privilege separated: a worker process sends the same request over the Node IPC channel
 *     (PrivilegedChannel), the privileged side parses and checks it (PrivilegedService) and calls
 *     the same `open()`, the answer goes back: what a call's set-up pays in `talkgate gateway`.
 * A round's holes are closed after its opens (a close committed just before an open would make that
 * open wait for it, in one path more than the other). Prints per round the p50 open time of both, the added
 * time, CPU per operation of both processes, and the verdict: added p50 <= 0.1 ms. Beside it, the
 * added time taken apart: an empty message's round trip over the same channel (the floor of any
 * two-process design), and the privileged side's own time per request (parse, check, open).
 *
 *   npm run build && node dist/bench/privsep-holes.js [opensPerRound] [rounds]     (root)
 */
import { fork, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseGatewayConfig } from '../src/config/load-gateway-config.js';
import type { PinholeModeConfig } from '../src/config/gateway-config.js';
import { createPinholeDataPath } from '../src/gateway/pinhole/pinhole-from-config.js';
import { PrivilegedService } from '../src/gateway/privsep/privileged-service.js';
import type { DataPathRequest } from '../src/gateway/session/session-types.js';
import { PrivilegedChannel } from '../src/privsep/privileged-channel.js';
import { systemClock } from '../src/shared/clock.js';
import { cpus, loadavg } from 'node:os';
import { fmt, median, msSince, quantile, sleep } from './bench-util.js';
import { machineLine, ratios, roundsLine, verdictLine } from './verdict.js';

const SELF = fileURLToPath(import.meta.url);
/** Default hole opens per path per round, and rounds (issue 17: at least 5 interleaved rounds). */
const DEFAULT_OPENS = 200;
const DEFAULT_ROUNDS = 7;
/** The target: the boundary adds at most this much to a hole open's p50 (issue 12). */
const TARGET_ADDED_P50_MS = 0.1;
/** Bound on the whole inner run. */
const INNER_TIMEOUT_MS = 300_000;

const CONFIG = `mode = "pinhole"
[inside]
address = "10.1.0.1"
interface = "tgb-lan"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
interface = "tgb-wan"
[pinhole]
table = "tgbench_privsep"
ports = "41000-41999"
hole_timeout = 60
[limits]
max_calls = 1000
`;

const request = (n: number): DataPathRequest => ({
  callId: `c-${String(n).padStart(6, '0')}`,
  listenSide: 'outside',
  listenAddress: '198.51.100.1',
  expectedPeer: `198.51.100.${2 + (n % 200)}`,
  target: { address: '10.1.0.2', port: 20_000 + (n % 20_000) },
  bindAddress: '10.1.0.1',
  acceptDeadlineMs: 60_000,
});

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined };

/** Resolves at the next IPC message `t` that `from` (the worker's process, or the privileged side's child) receives. */
function nextMessage<T>(from: NodeJS.EventEmitter, t: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { t: string }): void => {
      if (m.t !== t) return;
      from.off('message', on);
      resolve(m as T);
    };
    from.on('message', on);
  });
}

/** The worker side: times each open it asks the privileged side for. */
function worker(): void {
  const channel = new PrivilegedChannel((m) => process.send?.(m));
  process.on('message', (m: { t: string; first?: number; count?: number }) => {
    if (channel.onMessage(m)) return;
    if (m.t !== 'run' || m.first === undefined || m.count === undefined) return;
    const { first, count } = m;
    void (async () => {
      // The channel's floor: empty round trips, the privileged side answering at once.
      const echoes: number[] = [];
      for (let i = 0; i < count; i++) {
        const t0 = process.hrtime.bigint();
        const echoed = nextMessage<unknown>(process, 'echo');
        process.send?.({ t: 'echo' });
        await echoed;
        echoes.push(msSince(t0));
      }
      const times: number[] = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        const r = request(first + i);
        const t0 = process.hrtime.bigint();
        const reply = await channel.request('open', { request: r });
        times.push(msSince(t0));
        if (!reply.ok) throw new Error(`open refused: ${reply.code} ${reply.message}`);
      }
      const cpu = process.cpuUsage(cpu0);
      process.send?.({ t: 'done', times, echoes, cpuUs: cpu.user + cpu.system });
      for (let i = 0; i < count; i++) await channel.request('close', { callId: request(first + i).callId });
      process.send?.({ t: 'closed' });
    })();
  });
}

async function inner(opens: number, rounds: number): Promise<void> {
  const parsed = parseGatewayConfig(CONFIG, 'bench.toml');
  if (!parsed.ok || parsed.config.mode !== 'pinhole') throw new Error(parsed.ok ? 'not pinhole' : parsed.errors.join('; '));
  const config: PinholeModeConfig = parsed.config;
  const holes = createPinholeDataPath({ config, clock: systemClock, logger: quiet, events: { onConnected: () => undefined, onEnded: () => undefined } });
  await holes.start();
  /** The privileged side's time inside open() itself (the rest of its time is parsing and checking). */
  let opened: number[] = [];
  const timedHoles = {
    kind: holes.kind,
    start: () => holes.start(),
    stop: () => holes.stop(),
    renew: (callId: string) => holes.renew(callId),
    close: (callId: string) => holes.close(callId),
    open: async (r: DataPathRequest) => {
      const t0 = process.hrtime.bigint();
      const res = await holes.open(r);
      opened.push(msSince(t0));
      return res;
    },
  };
  const service = new PrivilegedService({ config, holes: timedHoles, log: quiet });
  const child = fork(SELF, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** The privileged side's time per request, receipt to answer (this round's). */
  let handled: number[] = [];
  child.on('message', (m: { t: string; req?: unknown }) => {
    if (m.t === 'echo') child.send({ t: 'echo' });
    if (m.t !== 'req') return;
    const t0 = process.hrtime.bigint();
    void service.handle(m.req).then((reply) => {
      handled.push(msSince(t0));
      child.send(reply);
    });
  });
  /** Resolves at the worker's message `t`. */
  const workerSays = <T>(t: string): Promise<T> => nextMessage<T>(child, t);

  console.log(`privilege boundary per hole open: ${rounds} interleaved rounds x ${opens} opens per path, libnftables in a private netns`);
  const added: number[] = [];
  const inP50s: number[] = [];
  const sepP50s: number[] = [];
  const cpuIn: number[] = [];
  const cpuSep: number[] = [];
  const echoP50s: number[] = [];
  const handleP50s: number[] = [];
  const openP50s: number[] = [];
  let next = 1;
  for (let round = 0; round < rounds; round++) {
    // In process (the --no-privsep reference).
    const times: number[] = [];
    const first = next;
    const c0 = process.cpuUsage();
    for (let i = 0; i < opens; i++) {
      const r = request(next++);
      const t0 = process.hrtime.bigint();
      const res = await holes.open(r);
      times.push(msSince(t0));
      if (!res.ok) throw new Error(`open failed: ${res.reason} ${res.detail}`);
    }
    const c1 = process.cpuUsage(c0);
    for (let n = first; n < next; n++) holes.close(request(n).callId);
    await sleep(50);
    // Through the privileged interface: the worker's wall time; CPU of both processes.
    const done = workerSays<{ times: number[]; echoes: number[]; cpuUs: number }>('done');
    handled = [];
    opened = [];
    const closed = workerSays<unknown>('closed');
    const p0 = process.cpuUsage();
    child.send({ t: 'run', first: next, count: opens });
    const w = await done;
    const p1 = process.cpuUsage(p0);
    const opensHandled = handled.slice(0, opens);
    next += opens;
    await closed;
    await sleep(50);
    const inP50 = median(times);
    const sepP50 = median(w.times);
    inP50s.push(inP50);
    sepP50s.push(sepP50);
    added.push(sepP50 - inP50);
    echoP50s.push(median(w.echoes));
    handleP50s.push(median(opensHandled));
    openP50s.push(median(opened));
    cpuIn.push((c1.user + c1.system) / opens);
    cpuSep.push((p1.user + p1.system + w.cpuUs) / opens);
    console.log(
      `  round ${round + 1}: in process p50 ${fmt(inP50, 3)} ms (p99 ${fmt(quantile(times, 0.99), 3)}), separated p50 ${fmt(sepP50, 3)} ms (p99 ${fmt(quantile(w.times, 0.99), 3)}), added ${fmt(sepP50 - inP50, 3)} ms (empty round trip ${fmt(echoP50s.at(-1) ?? NaN, 3)}, privileged side ${fmt(handleP50s.at(-1) ?? NaN, 3)}, of which open() ${fmt(openP50s.at(-1) ?? NaN, 3)}); CPU ${fmt(cpuIn.at(-1) ?? NaN, 0)} vs ${fmt(cpuSep.at(-1) ?? NaN, 0)} µs/open`,
    );
  }
  child.kill();
  await holes.stop();
  console.log(machineLine(cpus().length, `load average ${loadavg()[0]!.toFixed(1)} (shared machine)`));
  console.log(roundsLine('in process: p50 per hole open', inP50s, 'ms', 3));
  console.log(roundsLine('separated:  p50 per hole open', sepP50s, 'ms', 3));
  console.log(roundsLine('channel floor: p50 empty round trip', echoP50s, 'ms', 3));
  console.log(roundsLine('privileged side: p50 receipt to answer per open', handleP50s, 'ms', 3));
  console.log(roundsLine('privileged side: p50 of open() itself (same call as in process)', openP50s, 'ms', 3));
  console.log(roundsLine('in process: CPU per hole open', cpuIn, 'µs', 0));
  console.log(roundsLine('separated:  CPU per hole open (both processes)', cpuSep, 'µs', 0));
  console.log(roundsLine('CPU per hole open, separated / in process', ratios(cpuSep, cpuIn), ''));
  console.log(verdictLine('primary (wall clock)', 'added p50 per hole open, separated minus in process (ms)', added, '<=', TARGET_ADDED_P50_MS));
}

const args = process.argv.slice(2);
if (args[0] === '--worker') worker();
else if (args[0] === '--inner') {
  const opens = Number(args[1] ?? DEFAULT_OPENS);
  const rounds = Number(args[2] ?? DEFAULT_ROUNDS);
  const t = setTimeout(() => {
    console.error('privsep-holes: timed out');
    process.exit(1);
  }, INNER_TIMEOUT_MS);
  t.unref();
  await inner(opens, rounds);
  process.exit(0);
} else {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    console.log('privsep-holes: needs root (nftables in a private network namespace); skipped');
    process.exit(0);
  }
  // A private network namespace: the table and its holes never touch this host's firewall.
  const r = spawnSync('unshare', ['-n', process.execPath, ...process.execArgv, SELF, '--inner', String(Number(args[0] ?? DEFAULT_OPENS)), String(Number(args[1] ?? DEFAULT_ROUNDS))], {
    stdio: 'inherit',
    timeout: INNER_TIMEOUT_MS + 10_000,
  });
  process.exit(r.status ?? 1);
}
