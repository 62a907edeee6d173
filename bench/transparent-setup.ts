/**
 * Benchmark (issue 5): talk call set-up time through the transparent gateway versus the direct
 * path (fw routing openly, no gateway), measured in the same run. Root; network namespaces with
 * prefix `tgxb` (threeHosts: in 10.1.0.2 | fw | out 198.51.100.2), removed at the end. Real netkit
 * talkd on in and out (bob logged in on out); the two talk clients are scripted at the protocol
 * level (the netkit client's message sequence, no terminal), so no human or tmux delay is timed.
 *
 * One call:
 *   announce phase (caller on in, own clock): LOOK_UP bob@out's daemon → NOT_HERE, TCP listen,
 *     ANNOUNCE → SUCCESS, LEAVE_INVITE to its own daemon → SUCCESS;
 *   answer phase (callee on out → caller's accept): LOOK_UP at the host the announcement names
 *     (direct: 10.1.0.2; transparent: the gateway's outside address 198.51.100.1, as the lab test
 *     checks) → SUCCESS addr, TCP connect to addr, measured until the *caller's* accept() returns
 *     (through the relay in transparent mode). Both processes read the same clock
 *     (performance.timeOrigin + now).
 *   set-up time = announce phase + answer phase; the trigger between them is not timed. Then the
 *   caller DELETEs both invitations as the real client does (not timed).
 * Modes alternate in blocks (direct: fw forward accept, no gateway; transparent: fw forward drop,
 * `talkgate gateway` mode = "transparent" started for the block, SIGTERM after it).
 *
 * With TG_BENCH_CAPTURE=1 the transparent blocks are also captured on fw (udp, both interfaces)
 * and the gateway's own share is printed: per request type, the time between the client's request
 * and the gateway's answer on the inside wire, minus the daemon's round trip on the outside wire.
 *
 * Verdict (bench/verdict.ts): the median over the blocks of (transparent block p50 / the adjacent
 * direct block's p50) <= 1.2; the gateway's CPU per call (all its processes, schedstat) beside it.
 *
 * Run: node dist/bench/transparent-setup.js [blocks=5] [calls-per-block=15]
 */
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  Answer,
  IMPOSSIBLE_ID,
  NO_ADDR,
  NTALK_PORT,
  RequestType,
  TALK_VERSION,
  answerName,
  decodeNtalkCtlResponse,
  encodeNtalkCtlMsg,
  sockAddr,
  type NtalkCtlResponse,
} from '../src/protocol/index.js';
import { threeHosts, setFwMode, FW_OUT_ADDR, IN_ADDR, OUT_ADDR, INSIDE_IF, OUTSIDE_IF } from '../test/lab/topologies.js';
import { talkgateArgv } from '../test/lab/peers.js';
import { TalkdControl } from '../test/lab/talkd-control.js';
import { transparentGatewayToml } from '../test/lab/transparent-lab.js';
import { readPcap, type PcapFrame } from '../test/lab/pcap-reader.js';
import { LabProcess, type Lab } from '../test/lab/lab.js';
import os from 'node:os';
import { fmt, median, quantile } from './bench-util.js';
import { machineLine, MIN_ROUNDS, ratios as perRound, roundsLine, treeCpuMs, verdictLine } from './verdict.js';

const SELF = fileURLToPath(import.meta.url);
/** Interleaved blocks per mode: each gives one ratio (verdict.ts: at least MIN_ROUNDS). */
const BLOCKS = Math.max(1, Math.min(Number(process.argv[2] ?? MIN_ROUNDS), 10));
const CALLS = Math.max(1, Math.min(Number(process.argv[3] ?? 15), 100));
const PREFIX = 'tgxb';
const TABLE = `${PREFIX}_intercept`;
/** Bound on one control exchange (the netkit client's CTL_WAIT is 2 s; nothing here should be near it). */
const CTL_TIMEOUT_MS = 2_000;
/** Bound on one whole call. */
const CALL_TIMEOUT_MS = 10_000;
/** Pause between calls (keeps the per-source rate well inside the gateway's default limits too). */
const GAP_MS = 60;
const TARGET = 1.2;
/** Untimed calls at the start of every block (both modes alike). */
const WARMUP_CALLS = 3;

const now = (): number => performance.timeOrigin + performance.now();
const out = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

// ---------------------------------------------------------------- child roles (inside a namespace)

async function transact(sock: dgram.Socket, to: { address: string; port: number }, bytes: Uint8Array, type: number): Promise<NtalkCtlResponse> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      sock.off('message', on);
      reject(new Error(`no answer from ${to.address}:${to.port} within ${CTL_TIMEOUT_MS} ms`));
    }, CTL_TIMEOUT_MS);
    const on = (m: Buffer): void => {
      let r: NtalkCtlResponse;
      try {
        r = decodeNtalkCtlResponse(new Uint8Array(m.buffer, m.byteOffset, m.length));
      } catch {
        return;
      }
      if (r.type !== type) return;
      clearTimeout(t);
      sock.off('message', on);
      resolve(r);
    };
    sock.on('message', on);
    sock.send(bytes, to.port, to.address);
  });
}

function msg(type: number, f: { id?: number; addr?: ReturnType<typeof sockAddr>; ctlPort: number; ctlAddress: string; pid: number; lName: string; rName: string }): Uint8Array {
  return encodeNtalkCtlMsg({
    version: TALK_VERSION,
    type,
    id: f.id ?? 0,
    addr: f.addr ?? NO_ADDR,
    ctlAddr: sockAddr(f.ctlAddress, f.ctlPort),
    pid: f.pid,
    lName: f.lName,
    rName: f.rName,
    rTty: '',
  });
}

async function udpSocket(address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  return s;
}

/** The caller on in: one call per stdin line {"n"}; prints {"ready"} then {"accepted"}. */
async function caller(): Promise<void> {
  const remote = await udpSocket(IN_ADDR);
  const local = await udpSocket('127.0.0.1');
  const daemon = { address: OUT_ADDR, port: NTALK_PORT };
  const own = { address: '127.0.0.1', port: NTALK_PORT };
  for await (const line of createInterface({ input: process.stdin })) {
    const { n } = JSON.parse(line) as { n: number };
    try {
      const pid = 10_000 + n;
      const base = { ctlPort: remote.address().port, ctlAddress: IN_ADDR, pid, lName: 'alice', rName: 'bob' };
      const t0 = now();
      const check = await transact(remote, daemon, msg(RequestType.LOOK_UP, base), RequestType.LOOK_UP);
      if (check.answer !== Answer.NOT_HERE) throw new Error(`check_local: ${answerName(check.answer)}`);
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, IN_ADDR, () => r()));
      const addr = sockAddr(IN_ADDR, (server.address() as net.AddressInfo).port);
      const accepted = new Promise<number>((resolve) => server.once('connection', (c) => (resolve(now()), c.destroy())));
      const ann = await transact(remote, daemon, msg(RequestType.ANNOUNCE, { ...base, id: IMPOSSIBLE_ID, addr }), RequestType.ANNOUNCE);
      if (ann.answer !== Answer.SUCCESS) throw new Error(`ANNOUNCE: ${answerName(ann.answer)}`);
      const inv = await transact(
        local,
        own,
        msg(RequestType.LEAVE_INVITE, { ...base, ctlPort: local.address().port, ctlAddress: '127.0.0.1', addr }),
        RequestType.LEAVE_INVITE,
      );
      const t1 = now();
      out({ ready: n, announceMs: t1 - t0 });
      const tAccept = await Promise.race([accepted, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no connection')), CALL_TIMEOUT_MS).unref())]);
      server.close();
      // Clean up as the netkit client does once accept() returned (not timed).
      await transact(local, own, msg(RequestType.DELETE, { ...base, ctlPort: local.address().port, ctlAddress: '127.0.0.1', id: inv.id }), RequestType.DELETE).catch(() => undefined);
      await transact(remote, daemon, msg(RequestType.DELETE, { ...base, id: ann.id }), RequestType.DELETE).catch(() => undefined);
      out({ accepted: n, at: tAccept });
    } catch (e) {
      out({ error: String(e), n });
    }
  }
}

/** The callee on out: per stdin line {"n","host"}: LOOK_UP at host, connect; prints {"looked","lookupAt"}. */
async function callee(): Promise<void> {
  const sock = await udpSocket(OUT_ADDR);
  for await (const line of createInterface({ input: process.stdin })) {
    const { n, host } = JSON.parse(line) as { n: number; host: string };
    try {
      const at = now();
      const r = await transact(
        sock,
        { address: host, port: NTALK_PORT },
        msg(RequestType.LOOK_UP, { ctlPort: sock.address().port, ctlAddress: OUT_ADDR, pid: 20_000 + n, lName: 'bob', rName: 'alice' }),
        RequestType.LOOK_UP,
      );
      if (r.answer !== Answer.SUCCESS) throw new Error(`LOOK_UP at ${host}: ${answerName(r.answer)}`);
      const c = net.connect({ host: r.addr.address, port: r.addr.port });
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
      });
      c.destroy();
      out({ looked: n, lookupAt: at });
    } catch (e) {
      out({ error: String(e), n });
    }
  }
}

// ---------------------------------------------------------------- capture analysis

const TYPE_NAMES = ['LEAVE_INVITE', 'LOOK_UP', 'DELETE', 'ANNOUNCE'];

/** Request → next answer durations (ms) per ntalk type, for requests from `client` to `server`:518. */
function exchanges(frames: readonly PcapFrame[], client: string, server: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const pending = new Map<number, { ms: number; type: string }>();
  for (const f of frames) {
    const ip = f.ip;
    if (ip === undefined || ip.protocol !== 17) continue;
    if (ip.src === client && ip.dst === server && ip.dport === NTALK_PORT && ip.payload.length >= 2) {
      pending.set(ip.sport ?? 0, { ms: f.ms, type: TYPE_NAMES[ip.payload[1] ?? 9] ?? 'other' });
    } else if (ip.src === server && ip.dst === client && ip.sport === NTALK_PORT) {
      const p = pending.get(ip.dport ?? 0);
      if (p === undefined) continue;
      pending.delete(ip.dport ?? 0);
      out.set(p.type, [...(out.get(p.type) ?? []), f.ms - p.ms]);
    }
  }
  return out;
}

function reportCaptures(inside: readonly PcapFrame[], outside: readonly PcapFrame[]): void {
  const client = exchanges(inside, IN_ADDR, OUT_ADDR);
  const daemon = exchanges(outside, FW_OUT_ADDR, OUT_ADDR);
  process.stdout.write('  transparent, from captures on fw (median ms): request → answer seen by the caller | gateway → daemon round trip | gateway\'s own share\n');
  for (const [type, v] of client) {
    // Only the ANNOUNCE's answer waits for the callee's daemon; LOOK_UP and DELETE are answered at once.
    const d = type === 'ANNOUNCE' ? daemon.get(type) : undefined;
    const dm = d === undefined ? 0 : median(d);
    process.stdout.write(`    ${type.padEnd(12)} ${fmt(median(v), 3)} | ${d === undefined ? '-' : fmt(dm, 3)} | ${fmt(median(v) - dm, 3)}  (n=${v.length})\n`);
  }
}

// ---------------------------------------------------------------- parent

function childArgv(role: string): string[] {
  return [process.execPath, ...process.execArgv, SELF, role];
}

/** A role process in a lab host with a stdin pipe (lab.spawn gives /dev/null); dies with the namespace. */
function spawnRole(lab: Lab, host: string, role: string): LabProcess {
  const [cmd = 'nsenter', ...lead] = lab.enterArgv(host);
  const argv = childArgv(role);
  return new LabProcess(host, argv, spawn(cmd, [...lead, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] }));
}

async function nextEvent(p: LabProcess, key: string, n: number, ms: number): Promise<Record<string, number>> {
  const deadline = Date.now() + ms;
  for (;;) {
    for (const l of p.stdout.split('\n')) {
      if (!l.startsWith('{')) continue;
      const e = JSON.parse(l) as Record<string, unknown>;
      if (e['n'] === n && 'error' in e) throw new Error(`${p.host}: call ${n}: ${String(e['error'])}`);
      if (e[key] === n) return e as Record<string, number>;
    }
    if (!p.running) throw new Error(`${p.argv.join(' ')} exited: ${p.stderr.slice(-500)}`);
    if (Date.now() > deadline) throw new Error(`call ${n}: no ${key} within ${ms} ms from ${p.host}: ${p.stdout.slice(-500)} ${p.stderr.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const phases: Record<'direct' | 'transparent', { announce: number[]; answer: number[] }> = { direct: { announce: [], answer: [] }, transparent: { announce: [], answer: [] } };

async function oneCall(c: LabProcess, e: LabProcess, n: number, respondHost: string, mode?: 'direct' | 'transparent'): Promise<number> {
  c.child.stdin?.write(`${JSON.stringify({ n })}\n`);
  const ready = await nextEvent(c, 'ready', n, CALL_TIMEOUT_MS);
  e.child.stdin?.write(`${JSON.stringify({ n, host: respondHost })}\n`);
  const looked = await nextEvent(e, 'looked', n, CALL_TIMEOUT_MS);
  const acc = await nextEvent(c, 'accepted', n, CALL_TIMEOUT_MS);
  const announce = ready['announceMs'] ?? NaN;
  const answer = (acc['at'] ?? NaN) - (looked['lookupAt'] ?? NaN);
  if (mode !== undefined) {
    phases[mode].announce.push(announce);
    phases[mode].answer.push(answer);
  }
  return announce + answer;
}

async function startGateway(lab: Lab, configPath: string): Promise<LabProcess> {
  const p = lab.spawn('fw', talkgateArgv('gateway', '--config', configPath, '--log-level', process.env['TG_BENCH_GATEWAY_LOG'] ?? 'warn'));
  // --log-level warn prints nothing on success: wait for the interception table instead.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (!p.running) throw new Error(`gateway exited: ${p.stderr}`);
    const r = await lab.exec('fw', ['nft', 'list', 'table', 'ip', TABLE], { check: false });
    const faces = await lab.exec('fw', ['ss', '-H', '-uln', `sport = :${NTALK_PORT}`], { check: false });
    if (r.code === 0 && faces.stdout.includes(FW_OUT_ADDR)) return p;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('gateway did not start');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/transparent-setup: needs root (network namespaces)\n');
    process.exitCode = 2;
    return;
  }
  const lab = await threeHosts(PREFIX, { fw: 'route' });
  const started = Date.now();
  try {
    const daemons = new TalkdControl(lab);
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    await lab.login('out', 'bob');
    const configPath = join(lab.dir, 'gateway-transparent.toml');
    writeFileSync(configPath, transparentGatewayToml(TABLE));
    const c = spawnRole(lab, 'in', '--caller');
    const e = spawnRole(lab, 'out', '--callee');
    const times: Record<'direct' | 'transparent', number[]> = { direct: [], transparent: [] };
    const blockMedians: Record<'direct' | 'transparent', number[]> = { direct: [], transparent: [] };
    /** The gateway's CPU per timed call (ms), per transparent block. */
    const cpuPerCall: number[] = [];
    const captureOn = process.env['TG_BENCH_CAPTURE'] === '1';
    const pcaps: { inside: PcapFrame[]; outside: PcapFrame[] } = { inside: [], outside: [] };
    let n = 0;
    // Untimed warm-up calls per block and mode (JIT of the freshly started gateway, talkd started by
    // inetd, the gateway's ntalk version probe): a running gateway is warm.
    for (let b = 0; b < BLOCKS; b++) {
      for (const mode of ['direct', 'transparent'] as const) {
        let gw: LabProcess | undefined;
        if (mode === 'direct') await setFwMode(lab, 'route');
        else {
          await setFwMode(lab, 'drop');
          gw = await startGateway(lab, configPath);
        }
        const respondHost = mode === 'direct' ? IN_ADDR : FW_OUT_ADDR;
        const caps = captureOn && mode === 'transparent' ? [await lab.capture('fw', INSIDE_IF, ['udp']), await lab.capture('fw', OUTSIDE_IF, ['udp'])] : [];
        try {
          for (let w = 0; w < WARMUP_CALLS; w++) await oneCall(c, e, ++n, respondHost);
          const block: number[] = [];
          const cpu0 = gw === undefined ? NaN : treeCpuMs(gw.pid ?? -1);
          for (let i = 0; i < CALLS; i++) {
            await new Promise((r) => setTimeout(r, GAP_MS));
            block.push(await oneCall(c, e, ++n, respondHost, mode));
          }
          if (gw !== undefined) cpuPerCall.push((treeCpuMs(gw.pid ?? -1) - cpu0) / CALLS);
          times[mode].push(...block);
          blockMedians[mode].push(median(block));
        } finally {
          const [ci, co] = caps;
          if (ci !== undefined && co !== undefined) {
            pcaps.inside.push(...readPcap(await ci.stop()));
            pcaps.outside.push(...readPcap(await co.stop()));
          }
          if (gw !== undefined) {
            gw.child.kill('SIGTERM');
            // eslint-disable-next-line no-unsafe-finally -- a gateway that ignores SIGTERM is the bench's failure, and outranks its error
            if ((await gw.wait(10_000)) === undefined) throw new Error('gateway did not stop on SIGTERM');
            if (process.env['TG_BENCH_GATEWAY_LOG'] !== undefined) process.stderr.write(gw.stderr);
          }
        }
      }
    }
    const d = times.direct;
    const t = times.transparent;
    process.stdout.write(`talk call set-up time (ms), ${BLOCKS} interleaved blocks x ${CALLS} calls per mode, real netkit talkd both sides:\n`);
    for (const [k, v] of Object.entries(times)) {
      process.stdout.write(`  ${k.padEnd(12)} median ${fmt(median(v))}  p10 ${fmt(quantile(v, 0.1))}  p90 ${fmt(quantile(v, 0.9))}  min ${fmt(Math.min(...v))}  max ${fmt(Math.max(...v))}  (n=${v.length})\n`);
    }
    if (captureOn) reportCaptures(pcaps.inside, pcaps.outside);
    for (const [k, v] of Object.entries(phases)) {
      process.stdout.write(`  ${k.padEnd(12)} phases: announce median ${fmt(median(v.announce))}, answer (LOOK_UP .. caller's accept) median ${fmt(median(v.answer))}\n`);
    }
    const ratios = blockMedians.transparent.map((x, i) => x / (blockMedians.direct[i] ?? NaN));
    process.stdout.write(`  per-block median ratios (transparent / direct, adjacent blocks): ${ratios.map((r) => fmt(r)).join(' ')}\n`);
    process.stdout.write(`${machineLine(os.cpus().length, `load average ${os.loadavg()[0]!.toFixed(1)} (shared machine)`)}\n`);
    process.stdout.write(`${roundsLine('gateway CPU per call (all its processes)', cpuPerCall, 'ms', 2)}\n`);
    process.stdout.write(`  pooled: transparent / direct p50 ${fmt(median(t) / median(d))}, p90 ${fmt(quantile(t, 0.9) / quantile(d, 0.9))}\n`);
    process.stdout.write(`${verdictLine('primary (wall clock)', 'transparent / direct block p50 set-up', perRound(blockMedians.transparent, blockMedians.direct), '<=', TARGET)}\n`);
    process.stdout.write(`  (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    c.child.stdin?.end();
    e.child.stdin?.end();
    await c.kill();
    await e.kill();
  } finally {
    await lab.destroy();
  }
}

const role = process.argv[2];
if (role === '--caller') void caller();
else if (role === '--callee') void callee();
else
  main().catch((e: unknown) => {
    process.stderr.write(`bench/transparent-setup: ${String(e instanceof Error ? e.stack : e)}\n`);
    process.exitCode = 1;
  });
