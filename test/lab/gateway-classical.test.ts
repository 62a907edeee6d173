/**
 * Issue 4 acceptance: `talkgate gateway` (classical mode) between real talk peers, in one
 * threeHosts lab whose firewall forwards nothing (fw: 'drop'):
 *
 *   in 10.1.0.2 (alice) ── fw 10.1.0.1 | 198.51.100.1 (the gateway) ── out 198.51.100.2 (bob)
 *                                                                    └ out2 198.51.100.3 (carol)
 *
 * Every case of the Acceptance list is one test below; a capture on fw's outside interface runs
 * over the whole file and is checked last for inside addresses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { assertPrivilegeSeparated } from './privsep-check.js';
import { join } from 'node:path';
import { labSkip } from './prereq.js';
import { threeHosts, IN_ADDR, FW_IN_ADDR, FW_OUT_ADDR, OUT_ADDR, OUT2_ADDR, INSIDE_IF, OUTSIDE_IF } from './topologies.js';
import { talkCall, type CallResult } from './talk-call.js';
import { TalkdControl } from './talkd-control.js';
import { talkgateArgv, NETKIT_TALK } from './peers.js';
import { sleep, waitUntil } from './proc.js';
import { udpProbe } from './udp-probe.js';
import { readPcap, ipPackets, IPPROTO_TCP, IPPROTO_UDP, type PcapIp } from './pcap-reader.js';
import type { Capture, Lab, LabProcess } from './lab.js';
import type { Terminal } from './terminal.js';
import {
  Answer,
  RequestType,
  NTALK_PORT,
  TALK_VERSION,
  IMPOSSIBLE_ID,
  MAX_LIFE_MS,
  AF_INET,
  answerName,
  decodeNtalkCtlMsg,
  decodeNtalkCtlResponse,
  encodeNtalkCtlMsg,
  sockAddr,
} from '../../src/protocol/index.js';

const skip = labSkip();
/** Relay listener range of the gateway under test. */
const RELAY_MIN = 41000;
const RELAY_MAX = 41099;
/** The inside network as it would appear in raw bytes (10.1.0.x). */
const INSIDE_PREFIX = Buffer.from([10, 1, 0]);
/** Flood of issue 4: 10,000 forged control datagrams a second, bounded here to 3 s / 30,000. */
const FLOOD_RATE = 10_000;
const FLOOD_MS = 3_000;

function gatewayToml(auditFile: string, extra = ''): string {
  return `mode = "classical"
[inside]
address = "${FW_IN_ADDR}"
networks = ["10.1.0.0/24"]
[outside]
address = "${FW_OUT_ADDR}"
hosts = { "rc-out" = "${OUT_ADDR}", "o2" = "${OUT2_ADDR}" }
dns = false
[relay]
ports = "${RELAY_MIN}-${RELAY_MAX}"
[directory]
alice = "alice@${IN_ADDR}"
bob = "bob@rc-out"
${extra}
[[policy]]
action = "deny"
direction = "inbound"
remote = "${OUT2_ADDR}/32"
[[policy]]
action = "allow"
direction = "any"
[audit]
file = "${auditFile}"
[admin]
listen = "127.0.0.1:9518"
[privileges]
user = "nobody"
group = "nogroup"
`;
}

interface StatusCall {
  callId: string;
  direction: string;
  caller: string;
  callee: string;
  state: string;
  relayPort?: number;
}

/** A TCP connect from a lab host: what happened within `waitMs`. */
const CONNECT_JS = `
const net = require('node:net');
const [host, port, waitMs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
let data = 0; let done = false;
const s = net.connect({ host, port });
const finish = (outcome) => { if (done) return; done = true; s.destroy(); process.stdout.write(JSON.stringify({ outcome, data })); };
s.on('data', (d) => { data += d.length; });
s.on('error', (e) => finish(e.code === 'ECONNREFUSED' ? 'refused' : 'reset:' + e.code));
s.on('close', () => finish('closed'));
setTimeout(() => finish('open'), waitMs);
`;

/** Sends forged control datagrams at `rate`/s for `ms` (count-bounded), prints {sent, ms}. */
const FLOOD_JS = `
const dgram = require('node:dgram');
const a = JSON.parse(process.argv[1]);
const payloads = a.payloads.map((h) => Buffer.from(h, 'hex'));
const s = dgram.createSocket('udp4');
s.on('error', () => {});
let sent = 0; const t0 = Date.now(); const max = Math.floor(a.rate * a.ms / 1000);
s.bind(0, () => {
  const tick = () => {
    const el = Date.now() - t0;
    if (el >= a.ms || sent >= max) { s.close(); process.stdout.write(JSON.stringify({ sent, ms: Date.now() - t0 })); return; }
    const due = Math.min(max, Math.floor((el + 10) * a.rate / 1000));
    while (sent < due) { s.send(payloads[sent % payloads.length], a.port, a.to); sent++; }
    setTimeout(tick, 5);
  };
  tick();
});
`;

describe('talkgate gateway (classical) between real talk peers, forward policy drop', { skip, timeout: 240_000 }, () => {
  let lab: Lab;
  let daemons: TalkdControl;
  let alice: Terminal;
  let bob: Terminal;
  let carol: Terminal;
  let gw: LabProcess;
  let outsideCap: Capture;
  let configPath: string;
  let auditPath: string;
  /** The never-answered call of the "expired relay port" case: its id, port and when it rang. */
  let ghost: { callId: string; port: number; rungAt: number } | undefined;
  const t0 = Date.now();

  const startGateway = async (): Promise<LabProcess> => {
    const p = lab.spawn('fw', talkgateArgv('gateway', '--config', configPath, '--log-level', process.env['TG_LAB_GW_DEBUG'] === '1' ? 'debug' : 'info'));
    await lab.waitUdpListen('fw', NTALK_PORT, p);
    await waitUntil('gateway running', () => {
      if (!p.running) throw new Error(`gateway exited ${JSON.stringify(p.exitStatus)}: ${p.stderr}`);
      return /gateway running/.test(p.stderr);
    }, 10_000, 50);
    return p;
  };
  const status = async (): Promise<StatusCall[]> => {
    const r = await lab.exec('fw', talkgateArgv('status', '--json'));
    return (JSON.parse(r.stdout) as { calls: StatusCall[] }).calls;
  };
  const connectFrom = async (host: string, port: number, waitMs = 1_500): Promise<{ outcome: string; data: number }> => {
    const r = await lab.exec(host, [process.execPath, '-e', CONNECT_JS, FW_OUT_ADDR, String(port), String(waitMs)]);
    return JSON.parse(r.stdout) as { outcome: string; data: number };
  };
  const relayListeners = async (): Promise<number[]> => {
    const r = await lab.exec('fw', ['ss', '-H', '-ltn'], { check: false });
    return [...r.stdout.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1])).filter((p) => p >= RELAY_MIN && p <= RELAY_MAX);
  };
  const audit = (): Array<Record<string, unknown>> =>
    readFileSync(auditPath, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const report = (what: string, r: CallResult): void => {
    process.stderr.write(`${what}: announce ${r.announceMs} ms, connect ${r.connectMs} ms, text ${r.textMs} ms, respond with ${r.respondWith}\n`);
  };

  before(async () => {
    lab = await threeHosts('tgg', { out2: true, fw: 'drop' });
    daemons = new TalkdControl(lab);
    alice = await lab.login('in', 'alice');
    bob = await lab.login('out', 'bob');
    carol = await lab.login('out2', 'carol');
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    await daemons.use('out2', { kind: 'netkit' });
    configPath = join(lab.hostDir('fw'), 'gateway.toml');
    auditPath = join(lab.hostDir('fw'), 'audit.jsonl');
    writeFileSync(configPath, gatewayToml(auditPath), { mode: 0o644 });
    outsideCap = await lab.capture('fw', OUTSIDE_IF, [], 'fw-outside');
    gw = await startGateway();
  });
  after(async () => {
    if (process.env['TG_LAB_SHOW_LOG'] === '1') process.stderr.write(`--- gateway log ---\n${gw?.stdout ?? ''}${gw?.stderr ?? ''}\n`);
    await lab?.destroy();
    process.stderr.write(`gateway classical lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  test('started as root, the gateway binds 517/518 on both faces; the worker owning them runs as nobody with no capability', async () => {
    const worker = await assertPrivilegeSeparated(lab, 'fw', configPath);
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${worker}/status`, 'utf8'))?.[1];
    assert.equal(uid, (await lab.exec('fw', ['id', '-u', 'nobody'])).stdout.trim(), 'real uid of the worker');
    const udp = (await lab.exec('fw', ['ss', '-H', '-uln'])).stdout;
    for (const a of [FW_IN_ADDR, FW_OUT_ADDR]) for (const p of [517, 518]) assert.match(udp, new RegExp(`${a.replace(/\./g, '\\.')}:${p}\\s`));
  });

  test('a call nobody answers: its relay listener is closed when the invitation expires (set up now, checked later)', async () => {
    // An outbound ANNOUNCE crafted on the inside (no client will ever re-announce or connect).
    const req = encodeNtalkCtlMsg({
      version: TALK_VERSION, type: RequestType.ANNOUNCE, id: IMPOSSIBLE_ID,
      addr: sockAddr(IN_ADDR, 43999), ctlAddr: sockAddr(IN_ADDR, 43518), pid: 4711,
      lName: 'ghost', rName: 'carol%o2', rTty: '',
    });
    const m = carol.mark();
    const res = await udpProbe(lab, 'in', { to: FW_IN_ADDR, port: NTALK_PORT, bindPort: 43518, payloads: [req], expect: 1, waitMs: 5_000 });
    assert.equal(res.replies.length, 1);
    assert.equal(decodeNtalkCtlResponse(res.replies[0]?.bytes ?? Buffer.alloc(0)).answer, Answer.SUCCESS);
    await carol.waitForOutput(/connection requested by ghost@/, m, 5_000);
    const call = (await status()).find((c) => c.caller.startsWith('ghost@'));
    assert.ok(call?.relayPort !== undefined && call.state === 'ringing', JSON.stringify(call));
    ghost = { callId: call.callId, port: call.relayPort, rungAt: Date.now() };
    assert.ok((await relayListeners()).includes(ghost.port));
  });

  test('outbound: netkit alice calls bob%rc-out@10.1.0.1, bob answers with the announced command', async () => {
    const r = await talkCall({ caller: alice, callee: bob, target: `bob%rc-out@${FW_IN_ADDR}` });
    assert.match(r.respondWith, new RegExp(`^alice@(${FW_OUT_ADDR.replace(/\./g, '\\.')}|${lab.hostname('fw')}-1)$`));
    report('outbound netkit', r);
    // The audit trail of this call: real endpoints on both sides, names, bytes each way, duration.
    const req = audit().filter((x) => x['event'] === 'requested' && (x['caller'] as { user?: string }).user === 'alice').at(-1);
    const id = req?.['callId'];
    assert.deepEqual({ ...(req?.['caller'] as object), port: 0 }, { user: 'alice', address: IN_ADDR, port: 0 });
    assert.equal(req?.['requested'], 'bob%rc-out');
    const ended = await waitUntil('ended record', () => audit().find((x) => x['event'] === 'ended' && x['callId'] === id), 5_000, 100);
    const rung = audit().find((x) => x['event'] === 'rung' && x['callId'] === id);
    const connected = audit().find((x) => x['event'] === 'connected' && x['callId'] === id);
    assert.equal((rung?.['callee'] as { address?: string }).address, OUT_ADDR);
    assert.match(String(connected?.['peer']), new RegExp(`^${OUT_ADDR.replace(/\./g, '\\.')}:\\d+$`));
    assert.match(String(connected?.['target']), new RegExp(`^${IN_ADDR.replace(/\./g, '\\.')}:\\d+$`));
    assert.ok(Number(ended['bytesIn']) > 0 && Number(ended['bytesOut']) > 0 && Number(ended['durationMs']) > 0, JSON.stringify(ended));
  });

  /**
   * Issue 13: a call through the gateway, then the DELETE the gateway forwarded to bob's daemon,
   * read off the outside capture: AF_INET addr, answered SUCCESS, and a second DELETE of that id
   * (from bob's host) finds nothing, so no invitation lingers. inetutils checks addr's family
   * (BADADDR for the old family-0 DELETE); netkit 0.17 does not, but must answer SUCCESS all the same.
   */
  const deleteLeavesNoInvitation = async (kind: 'netkit' | 'inetutils'): Promise<void> => {
    const cap = await lab.capture('fw', OUTSIDE_IF, ['udp', 'port', String(NTALK_PORT)], `fw-outside-delete-${kind}`);
    await talkCall({ caller: alice, callee: bob, target: `bob%rc-out@${FW_IN_ADDR}`, ...(kind === 'inetutils' ? { calleeClient: 'inetutils' as const } : {}) });
    // alice's client DELETEs at the gateway once accept() returned; the gateway forwards it.
    await sleep(500);
    const udp = ipPackets(readPcap(await cap.stop())).filter((p) => p.protocol === IPPROTO_UDP);
    const deletes = udp
      .filter((p) => p.src === FW_OUT_ADDR && p.dst === OUT_ADDR && p.dport === NTALK_PORT && p.payload.length === 84)
      .map((p) => decodeNtalkCtlMsg(p.payload))
      .filter((m) => m.type === RequestType.DELETE);
    assert.equal(deletes.length, 1, `${kind}: the gateway forwarded one DELETE to the callee daemon`);
    const answers = udp
      .filter((p) => p.src === OUT_ADDR && p.sport === NTALK_PORT && p.dst === FW_OUT_ADDR && p.payload.length === 24)
      .map((p) => decodeNtalkCtlResponse(p.payload))
      .filter((r) => r.type === RequestType.DELETE);
    assert.deepEqual(answers.map((r) => answerName(r.answer)), ['SUCCESS'], `${kind} talkd removed the invitation (SUCCESS, not BADADDR): ${JSON.stringify(answers)}`);
    assert.equal(deletes[0]?.addr.family, AF_INET, "the DELETE's addr is AF_INET");
    // Deleting that id again finds nothing: the invitation is gone from bob's daemon.
    const again = encodeNtalkCtlMsg({ ...deletes[0], ctlAddr: sockAddr(OUT_ADDR, 43519), addr: sockAddr(OUT_ADDR, 0) });
    const res = await udpProbe(lab, 'out', { to: OUT_ADDR, port: NTALK_PORT, bindPort: 43519, payloads: [again], expect: 1, waitMs: 5_000 });
    assert.equal(answerName(decodeNtalkCtlResponse(res.replies[0]?.bytes ?? Buffer.alloc(0)).answer), 'NOT_HERE', `${kind}: no invitation left`);
  };

  test("issue 13: the gateway's DELETE carries an AF_INET addr; inetutils and netkit talkd answer SUCCESS and keep no invitation", async () => {
    await daemons.use('out', { kind: 'inetutils' });
    try {
      await deleteLeavesNoInvitation('inetutils');
    } finally {
      await daemons.use('out', { kind: 'netkit' });
    }
    await deleteLeavesNoInvitation('netkit');
  });

  test('outbound through the directory (talk bob@10.1.0.1), inetutils client on the inside', async () => {
    const r = await talkCall({ caller: alice, callee: bob, target: `bob@${FW_IN_ADDR}`, callerClient: 'inetutils' });
    report('outbound directory, inetutils caller', r);
  });

  test('inbound: netkit bob calls alice@198.51.100.1; alice answers bob%rc-out@gateway', async () => {
    const r = await talkCall({ caller: bob, callee: alice, target: `alice@${FW_OUT_ADDR}` });
    assert.match(r.respondWith, /^bob%rc-out@/);
    report('inbound netkit', r);
  });

  test('inbound with inetutils talk on the outside (caller and callee client) and inetutils talkd outside', async () => {
    await daemons.use('out', { kind: 'inetutils' });
    try {
      const r = await talkCall({ caller: bob, callee: alice, target: `alice@${FW_OUT_ADDR}`, callerClient: 'inetutils' });
      report('inbound inetutils caller', r);
      const r2 = await talkCall({ caller: alice, callee: bob, target: `bob%rc-out@${FW_IN_ADDR}`, calleeClient: 'inetutils' });
      report('outbound to inetutils talkd + client', r2);
    } finally {
      await daemons.use('out', { kind: 'netkit' });
    }
  });

  test('relay ports: out2 is refused on a live one, a used one refuses a second connection', async () => {
    let port = 0;
    let intruder: { outcome: string; data: number } | undefined;
    await talkCall({
      caller: alice,
      callee: bob,
      target: `bob%rc-out@${FW_IN_ADDR}`,
      beforeAnswer: async () => {
        const call = (await status()).find((c) => c.callee.startsWith('bob@') && c.state === 'ringing');
        assert.ok(call?.relayPort !== undefined, 'the ringing call has a relay port');
        port = call.relayPort;
        intruder = await connectFrom('out2', port);
      },
    });
    assert.ok(intruder !== undefined && intruder.outcome !== 'open' && intruder.data === 0, `out2 got ${JSON.stringify(intruder)}`);
    assert.match(gw.stderr, new RegExp(`"from":"${OUT2_ADDR.replace(/\./g, '\\.')}:\\d+","port":${port},"msg":"relay refused a connection"`));
    const again = await connectFrom('out', port);
    assert.equal(again.outcome, 'refused', `a second connection to used port ${port}: ${JSON.stringify(again)}`);
  });

  test('a denied call never rings the callee; the caller sees a refusal; the audit log has the reason', async () => {
    const mAlice = alice.mark();
    const mCarol = carol.mark();
    await carol.clear();
    await carol.type(`${NETKIT_TALK} alice@${FW_OUT_ADDR}`);
    await carol.waitForOutput(/refusing messages/, mCarol, 10_000);
    assert.ok(await carol.backToPrompt());
    await sleep(300);
    assert.doesNotMatch(alice.typescript(mAlice), /Message from|connection requested/, "alice's terminal stayed silent");
    const refused = audit().filter((r) => r['event'] === 'refused' && String(r['reason']).includes('policy'));
    assert.ok(refused.length >= 1, 'a refused record with a policy reason');
    const req = audit().find((r) => r['event'] === 'requested' && r['callId'] === refused.at(-1)?.['callId']);
    assert.equal((req?.['caller'] as { address?: string } | undefined)?.address, OUT2_ADDR);
    assert.ok(!audit().some((r) => r['event'] === 'rung' && r['callId'] === refused.at(-1)?.['callId']));
  });

  test('ntalk client on the inside, otalk-only talkgate talkd (--no-ntalk) on the outside: the call completes', async () => {
    await daemons.use('out', { kind: 'talkgate', mode: 'standalone', args: ['--no-ntalk'] });
    try {
      const r = await talkCall({ caller: alice, callee: bob, target: `bob%rc-out@${FW_IN_ADDR}` });
      report('ntalk caller -> otalk-only daemon', r);
      const rung = audit().filter((x) => x['event'] === 'rung').at(-1);
      assert.equal(rung?.['calleeProtocol'], 'otalk');
    } finally {
      await daemons.use('out', { kind: 'netkit' });
    }
  });

  test('escape sequences typed on the inside (inetutils talk sends them raw) reach the outside neutralised', async () => {
    const inCap = await lab.capture('fw', INSIDE_IF, ['tcp'], 'fw-inside-esc');
    const outCap = await lab.capture('fw', OUTSIDE_IF, ['tcp'], 'fw-outside-esc');
    const mb = bob.mark();
    await talkCall({
      caller: alice,
      callee: bob,
      target: `bob%rc-out@${FW_IN_ADDR}`,
      callerClient: 'inetutils',
      beforeHangup: async () => {
        await alice.type('\x1b[2J\x1b]0;pwned\x07 esc-test-done');
        await bob.waitForOutput(/esc-test-done/, mb, 5_000);
      },
    });
    const inside = ipPackets(readPcap(await inCap.stop())).filter((p) => p.protocol === IPPROTO_TCP && p.src === IN_ADDR);
    const outside = ipPackets(readPcap(await outCap.stop())).filter((p) => p.protocol === IPPROTO_TCP && p.src === FW_OUT_ADDR);
    assert.ok(inside.some((p) => p.payload.includes(0x1b)), 'alice\'s client sent the ESC bytes (else the test proves nothing)');
    const leaked = outside.filter((p) => p.payload.includes(0x1b));
    assert.equal(leaked.length, 0, `ESC left the gateway: ${leaked.map((p) => p.payload.toString('hex')).join(' ')}`);
    assert.ok(outside.some((p) => p.payload.includes(Buffer.from('^[[2J'))), 'the sequence arrives in caret notation');
  });

  test('a flood of forged control datagrams from out2 (10,000/s, 3 s) does not stop a legitimate call', async () => {
    const forged = (type: number, rName: string, id: number, addr: string): string =>
      Buffer.from(encodeNtalkCtlMsg({
        version: TALK_VERSION, type, id, addr: sockAddr(addr, 44999), ctlAddr: sockAddr(OUT2_ADDR, 44518),
        pid: id, lName: 'mallory', rName, rTty: '',
      })).toString('hex');
    const payloads = [
      forged(RequestType.LOOK_UP, 'bob%rc-out', 0, OUT2_ADDR),
      forged(RequestType.ANNOUNCE, 'alice', 1, OUT_ADDR), // addr names a third host
      forged(RequestType.DELETE, 'alice', 1, OUT2_ADDR),
      forged(RequestType.ANNOUNCE, 'nosuchuser', 2, OUT2_ADDR),
      forged(RequestType.DELETE, 'alice', 2, OUT2_ADDR),
      Buffer.from('not a talk message at all').toString('hex'),
    ];
    const counters = async (): Promise<Record<string, number>> =>
      (JSON.parse((await lab.exec('fw', talkgateArgv('status', '--json'))).stdout) as { counters: Record<string, number> }).counters;
    const before = await counters();
    const flood = lab.exec('out2', [process.execPath, '-e', FLOOD_JS, JSON.stringify({ to: FW_OUT_ADDR, port: NTALK_PORT, rate: FLOOD_RATE, ms: FLOOD_MS, payloads })], { timeoutMs: FLOOD_MS + 10_000 });
    await sleep(300);
    // The caller uses inetutils talk, which resends a control message until it is answered: the
    // netkit client blocks forever after one lost reply (lab README pitfall 6), and on a loaded
    // machine the kernel may drop a datagram queued behind the flood at the gateway's face.
    const r = await talkCall({ caller: bob, callee: alice, target: `alice@${FW_OUT_ADDR}`, callerClient: 'inetutils', timeoutMs: 10_000 });
    const sent = JSON.parse((await flood).stdout) as { sent: number; ms: number };
    process.stderr.write(`flood: ${sent.sent} datagrams in ${sent.ms} ms; call during it: announce ${r.announceMs} ms, connect ${r.connectMs} ms\n`);
    assert.ok(sent.sent >= 0.5 * FLOOD_RATE * (FLOOD_MS / 1000), `the flood really ran (${sent.sent} sent)`);
    const afterFlood = await counters();
    const delta = (k: string): number => (afterFlood[k] ?? 0) - (before[k] ?? 0);
    process.stderr.write(`flood at the gateway: ${delta('requests')} decoded requests, ${delta('dropped_rate')} dropped by the per-source rate limit, ${delta('calls_requested')} calls requested\n`);
    assert.ok(delta('dropped_rate') >= 3_000, `the flood reached the gateway and was rate-limited (${delta('dropped_rate')})`);
    assert.ok(gw.running, 'the gateway survived');
  });

  test('the unanswered call expired: its relay port is closed and the audit log says so', async () => {
    assert.ok(ghost !== undefined, 'the unanswered call was set up');
    const wait = ghost.rungAt + MAX_LIFE_MS + 2_000 - Date.now();
    if (wait > 0) await sleep(wait);
    const g = ghost;
    await waitUntil('ghost call ended', () => audit().some((r) => r['event'] === 'ended' && r['callId'] === g.callId), 5_000, 100);
    const ended = audit().find((r) => r['event'] === 'ended' && r['callId'] === g.callId);
    assert.match(String(ended?.['reason']), /expired/);
    assert.ok(!(await relayListeners()).includes(g.port), `port ${g.port} still listening`);
    assert.equal((await connectFrom('out2', g.port)).outcome, 'refused');
  });

  test('SIGHUP reload keeps a live call; kill -9 during a call, restart: no old relay port, audit intact, new calls work', async () => {
    const killedPid = gw.pid as number;
    let callId = '';
    let hookDone = false;
    const mb = bob.mark();
    await talkCall({
      caller: alice,
      callee: bob,
      target: `bob%rc-out@${FW_IN_ADDR}`,
      beforeHangup: async () => {
        const live = (await status()).find((c) => c.state === 'connected');
        assert.ok(live !== undefined, 'a connected call');
        callId = live.callId;
        // reload: add a directory alias, then prove the live call still relays
        writeFileSync(configPath, gatewayToml(auditPath, 'bobby = "bob@rc-out"'), { mode: 0o644 });
        process.kill(killedPid, 'SIGHUP');
        await waitUntil('reloaded', () => /configuration reloaded/.test(gw.stderr), 5_000, 50);
        assert.ok((await status()).some((c) => c.callId === callId && c.state === 'connected'), 'the call survived the reload');
        await alice.type('after-reload-line');
        await bob.waitForOutput(/after-reload-line/, mb, 5_000);
        gw.child.kill('SIGKILL');
        await gw.wait(5_000);
        hookDone = true;
      },
    }).catch((e: unknown) => {
      if (!hookDone) throw e; // only the hang-up after the kill may fail (the relay is gone)
    });
    assert.ok(await alice.backToPrompt());
    assert.ok(await bob.backToPrompt());
    assert.ok(callId !== '', 'the call was connected before the kill');
    assert.deepEqual(await relayListeners(), [], 'no relay port of the killed gateway listens');
    const records = audit(); // every line parses
    assert.ok(records.some((r) => r['event'] === 'connected' && r['callId'] === callId), 'the connected record of the killed call');
    gw = await startGateway();
    assert.notEqual(gw.pid, killedPid);
    const r = await talkCall({ caller: alice, callee: bob, target: `bobby@${FW_IN_ADDR}` });
    report('after restart (reloaded alias)', r);
    const runs = new Set(audit().map((x) => x['run']));
    assert.ok(runs.size >= 2 && !runs.has(undefined), `every record names its run: ${[...runs].join(', ')}`);
    const ids = audit().filter((x) => x['event'] === 'requested').map((x) => `${String(x['run'])} ${String(x['callId'])}`);
    assert.equal(new Set(ids).size, ids.length, 'run + call id identify a call across restarts');
  });

  test('the capture on the outside interface holds no inside address anywhere', async () => {
    const packets: PcapIp[] = ipPackets(readPcap(await outsideCap.stop()));
    assert.ok(packets.length > 100, `captured ${packets.length} packets`);
    const bad = packets.filter((p) => p.src.startsWith('10.1.0.') || p.dst.startsWith('10.1.0.') || p.payload.includes(INSIDE_PREFIX));
    assert.equal(bad.length, 0, `inside address seen outside: ${bad.slice(0, 5).map((p) => `${p.src}:${p.sport ?? ''}>${p.dst}:${p.dport ?? ''} ${p.payload.toString('hex')}`).join('\n')}`);
    const fromOut2 = packets.filter((p) => p.src === OUT2_ADDR && p.dport === NTALK_PORT).length;
    process.stderr.write(`outside capture: ${packets.length} IPv4 packets, ${fromOut2} control datagrams from out2\n`);
    const talkUdp = packets.filter((p) => p.sport === NTALK_PORT || p.dport === NTALK_PORT);
    assert.ok(talkUdp.length > 10, 'control traffic was captured');
  });
});
