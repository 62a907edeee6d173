/**
 * Benchmark (issue 14): failover of an HA pair of pinhole gateways (test/lab/ha-topology.ts:
 * keepalived + conntrackd + talkgate on two namespaces, prefix `tghb`), root, removed at the end.
 *
 * Per round the master is killed the hard way (links down, SIGKILL of talkgate, keepalived and
 * conntrackd) while a conversation-like TCP flow runs from the inside to the outside through it
 * (one timestamped line every TICK_MS, SNATed to the virtual outside address and replicated by
 * conntrackd exactly like a call's flow), then the killed node comes back as backup; the next
 * round kills the other node. Measured, per advertisement interval:
 * - failover time: kill (its links going down) → the first byte of the ongoing flow received after
 *   the links are down, i.e. through the new master;
 * - the reference measured in the same round: kill → the virtual address on the new node
 *   (keepalived alone), and the ratio failover / reference;
 * - kill → the gateway serving (conntrackd committed, `talkgate ha notify MASTER` done);
 * - CPU of the new master's talkgate (privileged + worker) over the round, per failover;
 * - with real netkit clients: failover → a new call connected (both clients "Connection established").
 * Verdict: the median failover under 3 s at advert_int 1 s (the target), from the median.
 *
 * Run: node dist/bench/ha-failover.js [rounds at 1 s (default 10)] [rounds at 0.5 s (default 5)]
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { HaNode, haSpec, OUT_ADDR, VIP_IN } from '../test/lab/ha-topology.js';
import { Lab, type LabProcess } from '../test/lab/lab.js';
import { connectWithNetkit, hangUp } from '../test/lab/talk-call.js';
import { TalkdControl } from '../test/lab/talkd-control.js';
import type { Terminal } from '../test/lab/terminal.js';
import { roundsLine, verdictLine } from './verdict.js';

const SELF = fileURLToPath(import.meta.url);
const ROUNDS_1S = Math.max(1, Math.min(Number(process.argv[2] ?? 10), 20));
const ROUNDS_HALF = Math.max(0, Math.min(Number(process.argv[3] ?? 5), 20));
const SINK_PORT = 5001;
/** The flow's line period (ms): the failover time's resolution. */
const TICK_MS = 20;
/** Bound on one sender run (s) and on waiting for the flow after a kill (ms). */
const SENDER_MAX_S = 600;
const FAILOVER_MAX_MS = 30_000;
const T = 15_000;

// ---------------------------------------------------------------- child roles (inside a namespace)

/** Prints "<received ms> <sent ms>" per line, forever (killed with the lab). */
function sink(port: number): void {
  net.createServer((s) => {
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        process.stdout.write(`${Date.now()} ${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
    s.on('error', () => undefined);
  }).listen(port, '0.0.0.0');
}

/** Sends its clock every TICK_MS for at most SENDER_MAX_S. */
function sender(host: string, port: number): void {
  const s = net.connect(port, host, () => {
    const until = Date.now() + SENDER_MAX_S * 1000;
    const t = setInterval(() => {
      if (Date.now() > until) {
        clearInterval(t);
        s.end();
        return;
      }
      s.write(`${Date.now()}\n`);
    }, TICK_MS);
  });
  s.on('error', (e) => {
    process.stderr.write(`sender: ${e.message}\n`);
    process.exit(1);
  });
}

// ---------------------------------------------------------------- the benchmark

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms: number, every = 20): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

interface Round {
  failoverMs: number;
  vipMs: number;
  servingMs: number;
  cpuMs: number;
  newCallMs: number;
}

async function newCall(alice: Terminal, bob: Terminal): Promise<void> {
  await connectWithNetkit(alice, bob, `bob@${VIP_IN}`, T);
  await hangUp(alice, bob);
}

async function pair(advertS: number, rounds: number): Promise<Round[]> {
  const lab = await Lab.create(haSpec('tghb', ['alice', 'bob']));
  const out: Round[] = [];
  try {
    const daemons = new TalkdControl(lab);
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    const alice = await lab.login('in', 'alice');
    const bob = await lab.login('out', 'bob');
    const nodes = [new HaNode(lab, 'gwa', { advertS, outbound: 'open' }), new HaNode(lab, 'gwb', { advertS, outbound: 'open' })] as const;
    await nodes[0].start();
    await nodes[0].waitRole('master', 20_000);
    await nodes[1].start();
    await new Promise((r) => setTimeout(r, 3_000 * advertS));
    const sinkProc = lab.spawn('out', [process.execPath, SELF, 'sink', String(SINK_PORT)]);
    await lab.waitUdpListen('out', 518);
    await until('the sink', async () => (await lab.exec('out', ['ss', '-H', '-tln', `sport = :${SINK_PORT}`])).stdout.includes(String(SINK_PORT)), 5_000);
    let master = 0;
    for (let i = 0; i < rounds; i++) {
      const dead = nodes[master] as HaNode;
      const next = nodes[1 - master] as HaNode;
      const snd: LabProcess = lab.spawn('in', [process.execPath, SELF, 'sender', OUT_ADDR, String(SINK_PORT)]);
      const linesBefore = sinkProc.stdout.length;
      await until('the flow through the master', () => sinkProc.stdout.length > linesBefore + 20, 10_000);
      // The flow is in the backup's external cache before the kill.
      await until('the flow replicated', async () => (await lab.exec(next.name, ['conntrackd', '-C', `${next.dir}/conntrackd.conf`, '-e'], { check: false })).stdout.includes(`dport=${SINK_PORT}`), 10_000, 100);
      const cpu0 = await next.talkgateCpuMs();
      const mark = sinkProc.stdout.length;
      const killedAt = Date.now();
      // Links first (the machine is gone from the network), then the processes.
      for (const ifc of ['inside', 'outside', 'sync']) await lab.exec(dead.name, ['ip', 'link', 'set', ifc, 'down']);
      const downAt = Date.now();
      await dead.crash();
      const vipAt = await until('the virtual address on the new master', async () => (await next.hasVip()) && Date.now(), FAILOVER_MAX_MS, 10);
      const servingAt = await next.waitRole('master', FAILOVER_MAX_MS);
      const firstAt = await until('the first byte through the new master', () => {
        const after = sinkProc.stdout.slice(mark).split('\n').map((l) => Number(l.split(' ')[0])).filter((t) => t > downAt);
        return after[0];
      }, FAILOVER_MAX_MS, 10);
      const cpuMs = (await next.talkgateCpuMs()) - cpu0;
      const callFrom = Date.now();
      await newCall(alice, bob);
      const newCallMs = Date.now() - servingAt;
      await snd.kill('SIGKILL');
      out.push({ failoverMs: firstAt - killedAt, vipMs: vipAt - killedAt, servingMs: servingAt - killedAt, cpuMs, newCallMs });
      process.stderr.write(`advert ${advertS} s round ${i + 1}: ${dead.name} killed; VIP moved ${vipAt - killedAt} ms, serving ${servingAt - killedAt} ms, first byte ${firstAt - killedAt} ms; new call connected ${Date.now() - callFrom} ms after it was started (${newCallMs} ms after the failover)\n`);
      await dead.restore();
      await dead.waitRole('backup', 20_000);
      await new Promise((r) => setTimeout(r, 2_000 * advertS));
      master = 1 - master;
    }
  } finally {
    await lab.destroy();
  }
  return out;
}

function report(advertS: number, rs: readonly Round[]): void {
  const f = rs.map((r) => r.failoverMs);
  process.stdout.write(`advert_int ${advertS} s, ${rs.length} failovers:\n`);
  process.stdout.write(`${roundsLine('failover (kill -> first byte through the new master)', f, 'ms', 0)}, worst ${Math.max(...f)} ms\n`);
  process.stdout.write(`${roundsLine('reference: kill -> virtual address on the new node (keepalived alone)', rs.map((r) => r.vipMs), 'ms', 0)}\n`);
  process.stdout.write(`${roundsLine('kill -> gateway serving (conntrackd committed, notify done)', rs.map((r) => r.servingMs), 'ms', 0)}\n`);
  process.stdout.write(`${roundsLine('ratio failover / reference', rs.map((r) => r.failoverMs / r.vipMs), '', 2)}\n`);
  process.stdout.write(`${roundsLine('ratio failover / advert interval', rs.map((r) => r.failoverMs / (advertS * 1000)), '', 2)}\n`);
  process.stdout.write(`${roundsLine("new master's talkgate CPU per failover (round)", rs.map((r) => r.cpuMs), 'ms', 0)}\n`);
  process.stdout.write(`${roundsLine('failover -> a new call connected (netkit clients)', rs.map((r) => r.newCallMs), 'ms', 0)}\n`);
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role === 'sink') return sink(Number(process.argv[3]));
  if (role === 'sender') return sender(process.argv[3] ?? '', Number(process.argv[4]));
  if (process.getuid?.() !== 0) {
    process.stderr.write('ha-failover: needs root (network namespaces)\n');
    process.exitCode = 1;
    return;
  }
  const one = await pair(1, ROUNDS_1S);
  report(1, one);
  process.stdout.write(`${verdictLine('secondary (wall clock)', 'failover at advert_int 1 s, seconds', one.map((r) => r.failoverMs / 1000), '<=', 3)}\n`);
  if (ROUNDS_HALF > 0) {
    const half = await pair(0.5, ROUNDS_HALF);
    report(0.5, half);
    process.stdout.write(`${verdictLine('secondary (wall clock)', 'failover at advert_int 0.5 s, seconds', half.map((r) => r.failoverMs / 1000), '<=', 3)}\n`);
  }
}

await main();
