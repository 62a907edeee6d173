/**
 * Benchmark (issue 4): talk call set-up time through `talkgate gateway` versus the direct path,
 * in a network-namespace lab (root), in one run.
 *
 *   in 10.1.0.2 (alice) ── fw 10.1.0.1 | 198.51.100.1 ── out 198.51.100.2 (bob)      (threeHosts 'tgb')
 *
 * - direct:  fw routes openly (forward policy accept); alice calls bob@198.51.100.2.
 * - gateway: fw forwards nothing (policy drop) and runs `talkgate gateway`:
 *     --mode classical (default): alice calls `bob@10.1.0.1` (the directory maps bob to bob@out);
 *     --mode transparent: mode = "transparent" on fw, alice addresses the real peer bob@198.51.100.2.
 * netkit talkd (under inetd) runs on in and out; alice and bob are logged in (tmux) so the
 * announcement reaches bob's terminal, as in the acceptance tests.
 *
 * The talk clients are scripted with the project's own client core (CallMachine + ControlChannels),
 * one long-lived peer process per side driven over stdin/stdout. One call:
 *   caller: first LOOK_UP sent (t0) … ANNOUNCE answered SUCCESS (t1)  — the caller's daemon holds the invitation;
 *   callee: answers at once (no human delay) with the name/host the announcement printed:
 *           first LOOK_UP sent (t2) … TCP connection established (t3), also confirmed by the caller's accept.
 * Set-up time = (t1 − t0) + (t3 − t2): everything from the first control request to the established
 * TCP connection, minus the time a human takes to answer (bob's answer, name@host, is read once per
 * path from the announcement on his terminal). Each path runs CALLS times after one uncounted
 * warm-up, each call bounded by CALL_TIMEOUT_MS. Classical mode alternates the two paths call by
 * call (the gateway only sees traffic addressed to fw, so it runs throughout while fw's forward
 * policy is switched between route and drop outside the timed part), so machine load drifts equally
 * on both; transparent mode (the gateway intercepts forwarded talk traffic) runs the direct series
 * first, then starts the gateway. Prints p50 of both, the per-side breakdown and the ratio
 * gateway / direct (target <= 1.2). Classical mode also times a third path, alternating with the
 * other two: the minimal forwarder (bench/minimal-forwarder.ts), the least a user-space talk proxy
 * can do, as the reference for what the extra process hop itself costs on this machine. Traffic stays inside the namespaces created here (prefix tgb),
 * removed at the end (also on failure). TG_BENCH_GW_LOG=debug prints the gateway's log;
 * TG_BENCH_NO_AUDIT=1 runs the classical gateway without its audit log (to see what it costs);
 * TG_BENCH_TRACE=1 prints the peers' timestamped events.
 *
 * Build first: npm run build
 * Run (root):  node dist/bench/gateway-setup.js [--mode classical|transparent] [--calls 30] [--warmup 20]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { createServer, connect, isIPv4, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import type { LabProcess } from '../test/lab/lab.js';
import { CallMachine, type CallEffect, type CallEvent, type Endpoint, type TimerName } from '../src/client/call-machine.js';
import { ControlChannels } from '../src/client/io/control-channels.js';
import { NTALK_PORT } from '../src/protocol/constants.js';
import { requestTypeName } from '../src/protocol/talk-types.js';
import { fmt, median, quantile, verdict, withTimeout } from './bench-util.js';

const SELF = fileURLToPath(import.meta.url);
/**
 * TG_BENCH_TRACE=1: the scripted peers print `PEER <role> <epoch ms, µs resolution> <event>` for
 * every send and event, to line up with a capture on fw (tcpdump -tt) and find where time goes.
 */
const TRACE = process.env['TG_BENCH_TRACE'] === '1';
const PREFIX = 'tgb';
/** Bound of one scripted call (each side). */
const CALL_TIMEOUT_MS = 10_000;
/**
 * Untimed calls per path before the timed ones (bob's answer learnt from his screen, ARP, inetd's
 * talkd started, the gateway's version probe, first-call JIT): the timed calls measure a running
 * gateway, not its start-up.
 */
const DEFAULT_WARMUP_CALLS = 20;
/** Most calls per path. */
const MAX_CALLS = 200;
/** Control port of the minimal forwarder (the reference proxy), beside the gateway's 518 on fw. */
const MINIMAL_PORT = 5518;
/** Relay listener range of the gateway under test. */
const RELAY_MIN = 42000;
const RELAY_MAX = 42099;
/**
 * The bench places calls back to back: a scripted client sends ~3 requests to the gateway per call,
 * ~15 calls a second, far beyond any human and above the default per-source limit (20/s, burst 40),
 * which then drops a request and costs the call a 2 s client resend (CTL_WAIT). Set-up latency is
 * measured here, not the rate limiter (unit and lab tests cover it), so the limits are raised.
 */
const BENCH_LIMITS = `
[limits]
rate = 1000
burst = 1000
`;

// ---------------------------------------------------------------- peer: one scripted talk client side
type PeerRequest = { role: 'caller' | 'callee'; localName: string; remoteName: string; host: string; port?: number; trace?: boolean };
type PeerEvent =
  | { ev: 'announced'; ms: number; steps: Record<string, number> }
  | { ev: 'established'; ms: number; steps: Record<string, number> }
  | { ev: 'failed'; message: string };

/** Runs one call with CallMachine; reports announced (caller) and established (both). */
async function peerCall(req: PeerRequest, report: (e: PeerEvent) => void): Promise<void> {
  const address = isIPv4(req.host) ? req.host : (await lookup(req.host, { family: 4 })).address;
  const localDaemon: Endpoint = { address: '127.0.0.1', port: NTALK_PORT };
  const remoteDaemon: Endpoint = { address, port: req.port ?? NTALK_PORT };
  const timers = new Map<TimerName, NodeJS.Timeout>();
  let machine: CallMachine | null = null;
  let server: Server | null = null;
  let data: Socket | null = null;
  let done = false;
  let announced = false;
  let t0 = 0;
  /** ms from the previous step to each control reply (by request type) and to the connection. */
  const steps: Record<string, number> = {};
  let last = 0;
  const step = (name: string): void => {
    const now = performance.now();
    steps[name] = (steps[name] ?? 0) + (now - last);
    last = now;
  };
  await new Promise<void>((resolve) => {
    let channels: ControlChannels | null = null;
    const guard = setTimeout(() => end({ ev: 'failed', message: `no connection within ${CALL_TIMEOUT_MS} ms (state ${machine?.state})` }), CALL_TIMEOUT_MS);
    function end(e: PeerEvent): void {
      if (done) return;
      done = true;
      clearTimeout(guard);
      for (const t of timers.values()) clearTimeout(t);
      report(e);
      // Let the DELETEs the machine sent on establishing leave before the sockets close.
      setTimeout(() => {
        server?.close();
        data?.destroy();
        channels?.close();
        resolve();
      }, 50);
    }
    const dispatch = (ev: CallEvent): void => {
      if (machine === null || done) return;
      if (req.trace === true) process.stderr.write(`PEER ${req.role} ${(performance.timeOrigin + performance.now()).toFixed(3)} ${ev.kind}${ev.kind === 'reply' ? ' ' + requestTypeName(ev.response.type) : ''}\n`);
      if (ev.kind === 'reply') step(requestTypeName(ev.response.type));
      else if (ev.kind === 'connected' || ev.kind === 'accepted') step('TCP');
      for (const fx of machine.handle(ev)) effect(fx);
      if (req.role === 'caller' && !announced && machine.state === 'waiting') {
        announced = true;
        report({ ev: 'announced', ms: performance.now() - t0, steps: { ...steps } });
      }
    };
    const effect = (fx: CallEffect): void => {
      switch (fx.kind) {
        case 'send':
          if (req.trace === true) process.stderr.write(`PEER ${req.role} ${(performance.timeOrigin + performance.now()).toFixed(3)} send ${requestTypeName(fx.msg.type)}\n`);
          channels?.send(fx.channel, fx.protocol, fx.msg, fx.version);
          return;
        case 'start-timer': {
          const old = timers.get(fx.timer);
          if (old !== undefined) clearTimeout(old);
          timers.set(fx.timer, setTimeout(() => dispatch({ kind: 'timer', timer: fx.timer }), fx.ms));
          return;
        }
        case 'cancel-timer':
          clearTimeout(timers.get(fx.timer));
          timers.delete(fx.timer);
          return;
        case 'listen': {
          const srv = createServer();
          server = srv;
          srv.on('error', (err) => end({ ev: 'failed', message: `listen: ${err.message}` }));
          srv.on('connection', (sock) => {
            if (data !== null) return void sock.destroy();
            data = sock;
            sock.on('error', () => undefined);
            srv.close();
            dispatch({ kind: 'accepted' });
          });
          srv.listen(0, channels?.ctlAddrs().remote.address ?? '0.0.0.0', () => {
            const a = srv.address();
            if (a !== null && typeof a === 'object') dispatch({ kind: 'listening', addr: { address: a.address, port: a.port } });
          });
          return;
        }
        case 'connect': {
          if (req.trace === true) process.stderr.write(`PEER ${req.role} ${(performance.timeOrigin + performance.now()).toFixed(3)} connect-start\n`);
          const sock = connect({ host: fx.addr.address, port: fx.addr.port });
          if (req.trace === true) process.stderr.write(`PEER ${req.role} ${(performance.timeOrigin + performance.now()).toFixed(3)} connect-called\n`);
          data = sock;
          sock.once('connect', () => dispatch({ kind: 'connected' }));
          sock.once('error', (err: NodeJS.ErrnoException) =>
            dispatch({ kind: 'connect-failed', refused: err.code === 'ECONNREFUSED', reason: err.code ?? err.message }),
          );
          return;
        }
        case 'established':
          end({ ev: 'established', ms: performance.now() - t0, steps });
          return;
        case 'end':
          end({ ev: 'failed', message: fx.message });
          return;
        case 'status':
          return;
      }
    };
    ControlChannels.open(localDaemon, remoteDaemon, null, (ev) => dispatch(ev))
      .then((ch) => {
        channels = ch;
        machine = new CallMachine({
          localName: req.localName,
          remoteName: req.remoteName,
          remoteTty: '',
          pid: process.pid,
          localDaemon,
          remoteDaemon,
          remoteOtalkPort: null,
          ctlAddr: ch.ctlAddrs(),
        });
        t0 = last = performance.now();
        dispatch({ kind: 'start' });
      })
      .catch((err: unknown) => end({ ev: 'failed', message: `control sockets: ${String(err)}` }));
  });
}

async function peerMain(): Promise<void> {
  const out = (e: PeerEvent): void => void process.stdout.write(JSON.stringify(e) + '\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    await peerCall(JSON.parse(line) as PeerRequest, out).catch((err: unknown) => out({ ev: 'failed', message: String(err) }));
  }
}

/** A peer process inside a lab host, driven line by line. */
class Peer {
  readonly #lines: string[] = [];
  #waiter: (() => void) | undefined;
  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.#lines.push(l);
      this.#waiter?.();
    });
    proc.stderr!.on('data', (d: Buffer) => {
      const text = d.toString().replace(/^\s*Session terminated, killing shell\.\.\. \.\.\.killed\.\s*$/gm, '').trim();
      if (text !== '') process.stderr.write(`[peer] ${text}\n`);
    });
  }
  start(req: PeerRequest): void {
    this.proc.stdin!.write(JSON.stringify(req) + '\n');
  }
  async next(): Promise<PeerEvent> {
    const got = new Promise<PeerEvent>((resolve) => {
      const take = (): void => {
        const l = this.#lines.shift();
        if (l === undefined) return;
        this.#waiter = undefined;
        resolve(JSON.parse(l) as PeerEvent);
      };
      this.#waiter = take;
      take();
    });
    return withTimeout(got, CALL_TIMEOUT_MS + 2_000, 'scripted talk peer');
  }
}

// ---------------------------------------------------------------- driver (root, lab)
async function main(): Promise<void> {
  const cli = new Command()
    .addOption(new Option('--mode <mode>', 'gateway mode under test').choices(['classical', 'transparent']).default('classical'))
    .option('--calls <n>', 'calls per path', (v) => Math.max(1, Math.min(MAX_CALLS, Number(v))), 30)
    .option('--warmup <n>', 'untimed calls per path first', (v) => Math.max(1, Math.min(MAX_CALLS, Number(v))), DEFAULT_WARMUP_CALLS)
    .parse(process.argv);
  const { mode, calls, warmup } = cli.opts<{ mode: 'classical' | 'transparent'; calls: number; warmup: number }>();

  // Imported here so the peer processes (inside namespaces) do not load the lab harness.
  const { labSkipReason } = await import('../test/lab/prereq.js');
  const { threeHosts, setFwMode, FW_IN_ADDR, FW_OUT_ADDR, IN_ADDR, OUT_ADDR } = await import('../test/lab/topologies.js');
  const { TalkdControl } = await import('../test/lab/talkd-control.js');
  const { talkgateArgv } = await import('../test/lab/peers.js');
  const { RESPOND_RE, respondWithOf } = await import('../test/lab/talk-call.js');
  const { waitUntil } = await import('../test/lab/proc.js');
  const { transparentGatewayToml } = await import('../test/lab/transparent-lab.js');

  const why = labSkipReason();
  if (why !== undefined) {
    console.log(`gateway-setup: cannot run the lab: ${why}`);
    process.exitCode = 2;
    return;
  }
  const lab = await threeHosts(PREFIX, { fw: 'route' });
  process.stderr.write(`gateway-setup: lab ${PREFIX} up; ${calls} calls per path, mode ${mode}\n`);
  const peers: ChildProcess[] = [];
  try {
    await lab.exec('fw', ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0'], { check: false });
    const daemons = new TalkdControl(lab);
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    await lab.login('in', 'alice');
    const bob = await lab.login('out', 'bob');
    const startPeer = (host: string, user: string): Peer => {
      const argv = lab.enterArgv(host, user);
      const p = spawn(argv[0]!, [...argv.slice(1), process.execPath, SELF, 'peer'], { stdio: ['pipe', 'pipe', 'pipe'] });
      peers.push(p);
      return new Peer(p);
    };
    const caller = startPeer('in', 'alice');
    const callee = startPeer('out', 'bob');

    /** What bob's announcement told him to answer, per path (learnt from his screen on the first call). */
    const answers = new Map<string, { name: string; host: string }>();
    /** One call; returns its set-up time in ms. */
    const oneCall = async (path: string, remoteName: string, host: string, port?: number): Promise<number> => {
      const mark = bob.mark();
      caller.start({ role: 'caller', localName: 'alice', remoteName, host, ...(port !== undefined ? { port } : {}), trace: TRACE });
      const a = await caller.next();
      if (a.ev !== 'announced') throw new Error(`${path}: caller: ${JSON.stringify(a)}`);
      let answer = answers.get(path);
      if (answer === undefined) {
        const text = await bob.waitForOutput(RESPOND_RE, mark, 5_000);
        const [name, at] = respondWithOf(text).split('@');
        if (name === undefined || at === undefined) throw new Error(`bob's respond-with names no host:\n${text}`);
        answer = { name, host: at };
        answers.set(path, answer);
        process.stderr.write(`gateway-setup: ${path}: alice calls ${remoteName}@${host}, bob answers ${name}@${at}\n`);
      }
      callee.start({ role: 'callee', localName: 'bob', remoteName: answer.name, host: answer.host, ...(port !== undefined ? { port } : {}), trace: TRACE });
      const [b, c] = await Promise.all([callee.next(), caller.next()]);
      if (b.ev !== 'established') throw new Error(`${path}: callee: ${JSON.stringify(b)}`);
      if (c.ev !== 'established') throw new Error(`${path}: caller: ${JSON.stringify(c)}`);
      segments.get(path)?.push([a.ms, b.ms]) ?? segments.set(path, [[a.ms, b.ms]]);
      const st = stepTimes.get(path) ?? new Map<string, number[]>();
      stepTimes.set(path, st);
      for (const [side, rec] of [['caller', a.steps], ['callee', b.steps]] as const) {
        for (const [k, v] of Object.entries(rec)) st.get(`${side} ${k}`)?.push(v) ?? st.set(`${side} ${k}`, [v]);
      }
      return a.ms + b.ms;
    };
    /** Per path: [caller segment, callee segment] of every call, for the breakdown line. */
    const segments = new Map<string, [number, number][]>();
    /** Per path: ms before each control reply / the TCP connection, per side. */
    const stepTimes = new Map<string, Map<string, number[]>>();
    /** fw's forward policy: 'route' for the direct path, 'drop' for the gateway path. */
    let fwMode: 'route' | 'drop' = 'route';
    const setFw = async (m: 'route' | 'drop'): Promise<void> => {
      if (m === fwMode) return;
      await setFwMode(lab, m);
      fwMode = m;
    };

    const configPath = join(lab.hostDir('fw'), 'gateway.toml');
    writeFileSync(configPath, mode === 'classical' ? classicalToml(FW_IN_ADDR, FW_OUT_ADDR, IN_ADDR, OUT_ADDR, process.env['TG_BENCH_NO_AUDIT'] === '1' ? undefined : join(lab.hostDir('fw'), 'audit.jsonl')) : transparentGatewayToml(`${PREFIX}_intercept`) + BENCH_LIMITS, { mode: 0o644 });
    let gw: LabProcess | undefined;
    const startGateway = async (): Promise<void> => {
      const argv = talkgateArgv('gateway', '--config', configPath, '--log-level', process.env['TG_BENCH_GW_LOG'] ?? 'info');
      const p = lab.spawn('fw', argv);
      gw = p;
      // Its start-up line, or (at a log level above info) its ntalk face bound on fw.
      await waitUntil('gateway running', async () => {
        if (!p.running) throw new Error(`gateway exited ${JSON.stringify(p.exitStatus)}: ${p.stderr}`);
        if (/gateway running/.test(p.stderr) || /gateway running/.test(p.stdout)) return true;
        const ss = await lab.exec('fw', ['ss', '-Hlun', `sport = :${NTALK_PORT}`], { check: false });
        return ss.stdout.includes(`${gatewayTarget === OUT_ADDR ? FW_OUT_ADDR : FW_IN_ADDR}:${NTALK_PORT}`);
      }, 20_000, 50);
    };
    const gatewayTarget = mode === 'classical' ? FW_IN_ADDR : OUT_ADDR;
    const direct: number[] = [];
    const through: number[] = [];
    const minimal: number[] = [];
    if (mode === 'classical') {
      // The classical gateway only sees traffic addressed to fw, so it runs throughout and the paths
      // alternate call by call (fw's forward policy switched between calls, outside the timing):
      // machine load drifts equally on all. The third path is the reference proxy
      // (bench/minimal-forwarder.ts) on fw's port MINIMAL_PORT: the same extra process hop with
      // nothing else in it.
      await startGateway();
      const fwd = lab.spawn('fw', [process.execPath, join(dirname(SELF), 'minimal-forwarder.js'), FW_IN_ADDR, FW_OUT_ADDR, OUT_ADDR, String(MINIMAL_PORT)]);
      await waitUntil('minimal forwarder running', () => {
        if (!fwd.running) throw new Error(`minimal forwarder exited: ${fwd.stderr}`);
        return fwd.stdout.includes('minimal forwarder running');
      }, 20_000, 50);
      // Warm-ups (not counted): see DEFAULT_WARMUP_CALLS.
      for (let i = 0; i < warmup; i++) {
        await setFw('route');
        await oneCall('direct', 'bob', OUT_ADDR);
        await setFw('drop');
        await oneCall('gateway', 'bob', gatewayTarget);
        await oneCall('minimal', 'bob', FW_IN_ADDR, MINIMAL_PORT);
      }
      for (let i = 0; i < calls; i++) {
        await setFw('route');
        direct.push(await oneCall('direct', 'bob', OUT_ADDR));
        await setFw('drop');
        through.push(await oneCall('gateway', 'bob', gatewayTarget));
        minimal.push(await oneCall('minimal', 'bob', FW_IN_ADDR, MINIMAL_PORT));
      }
      await fwd.kill();
    } else {
      // The transparent gateway intercepts forwarded talk traffic: the direct series runs first,
      // without it, then the gateway series.
      for (let i = 0; i < warmup; i++) await oneCall('direct', 'bob', OUT_ADDR);
      for (let i = 0; i < calls; i++) direct.push(await oneCall('direct', 'bob', OUT_ADDR));
      await setFw('drop');
      await startGateway();
      for (let i = 0; i < warmup; i++) await oneCall('gateway', 'bob', gatewayTarget);
      for (let i = 0; i < calls; i++) through.push(await oneCall('gateway', 'bob', gatewayTarget));
    }
    await gw?.kill();
    if (process.env['TG_BENCH_GW_LOG'] !== undefined) process.stderr.write(`--- gateway log ---\n${gw?.stdout ?? ''}${gw?.stderr ?? ''}\n`);

    const d = median(direct);
    const g = median(through);
    const line = (label: string, v: number[]): string =>
      `  ${label}: p50 ${fmt(median(v))} ms, p90 ${fmt(quantile(v, 0.9))} ms, min ${fmt(Math.min(...v))} ms, max ${fmt(Math.max(...v))} ms`;
    console.log(`gateway-setup (${mode}): call set-up (first control request -> TCP established, answer delay excluded), ${calls} calls each`);
    console.log(line('direct (fw routes)     ', direct));
    console.log(line(`through gateway (${mode})`, through));
    if (minimal.length > 0) console.log(line('minimal forwarder (ref)  ', minimal));
    for (const [path, v] of segments) {
      console.log(`  ${path} breakdown, p50: caller LOOK_UP..invitation left ${fmt(median(v.map((x) => x[0])))} ms, callee LOOK_UP..TCP established ${fmt(median(v.map((x) => x[1])))} ms`);
      const st = [...(stepTimes.get(path) ?? new Map<string, number[]>())].map(([k, x]) => `${k} ${fmt(median(x))}`);
      console.log(`    p50 ms before each step: ${st.join(', ')}`);
    }
    console.log(`  ratio p50 gateway / direct: ${verdict(g / d, '<=', 1.2)}`);
    if (minimal.length > 0) {
      const m = median(minimal);
      console.log(`  reference: minimal forwarder / direct ${fmt(m / d)} (the cost of any user-space hop here); gateway / minimal forwarder ${fmt(g / m)}`);
    }
  } finally {
    for (const p of peers) p.kill();
    await lab.destroy();
  }
}

/**
 * The classical gateway's configuration for threeHosts (as in the acceptance test, minus policy
 * extras), with its audit log on, as a real site runs it.
 */
function classicalToml(fwIn: string, fwOut: string, inAddr: string, outAddr: string, auditFile: string | undefined): string {
  return `mode = "classical"
[inside]
address = "${fwIn}"
networks = ["10.1.0.0/24"]
[outside]
address = "${fwOut}"
hosts = { "rc-out" = "${outAddr}" }
dns = false
[relay]
ports = "${RELAY_MIN}-${RELAY_MAX}"
[directory]
alice = "alice@${inAddr}"
bob = "bob@rc-out"
[[policy]]
action = "allow"
direction = "any"
${auditFile !== undefined ? `[audit]\nfile = "${auditFile}"\n` : ''}${BENCH_LIMITS}[admin]
listen = "127.0.0.1:9519"
[privileges]
user = "nobody"
group = "nogroup"
`;
}

if (process.argv[2] === 'peer') {
  void peerMain();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
