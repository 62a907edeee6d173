/**
 * Issue 14: an active/backup pair of pinhole gateways on Debian's keepalived (VRRP, a sync group
 * of the inside and outside instances, advert 1 s) and conntrackd (FTFW over a third link), with
 * real netkit clients and daemons (ha-topology.ts). Conversations in progress survive the master's
 * death, ringing calls complete, a new call goes through one second after the failover, a node
 * that comes back is a backup without holes, a failback keeps a conversation started on the
 * other node, and nothing of the inside shows on the outside segment.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { labSkip } from './prereq.js';
import { CONNTRACKD, HaNode, haSpec, IN_ADDR, KEEPALIVED, VIP_IN, VIP_OUT, ADVERT_INT_S } from './ha-topology.js';
import { Lab, type Capture } from './lab.js';
import { connectWithNetkit, hangUp, RESPOND_RE, respondWithOf, ringWithNetkit } from './talk-call.js';
import { TalkdControl } from './talkd-control.js';
import { NETKIT_TALK } from './peers.js';
import { ipPackets, readPcap } from './pcap-reader.js';
import { sleep, waitUntil } from './proc.js';
import type { Terminal } from './terminal.js';

const skip = labSkip([KEEPALIVED, CONNTRACKD, '/usr/sbin/conntrack', '/usr/bin/arping', '/usr/bin/tcpdump']);
const T = 15_000;
/** netkit talk re-announces a ringing call every RING_WAIT (30 s, talk.h); a re-ring comes within this. */
const REANNOUNCE_WAIT_MS = 40_000;

describe('HA pair: keepalived + conntrackd, conversations and ringing calls survive a failover', { skip, timeout: 420_000 }, () => {
  let lab: Lab;
  let a: HaNode;
  let b: HaNode;
  let alice: Terminal;
  let carol: Terminal;
  let bob: Terminal;
  let dave: Terminal;
  let outside: Capture | undefined;
  const t0 = Date.now();
  const report: string[] = [];

  const note = (s: string): void => {
    report.push(s);
    process.stderr.write(`ha lab: ${s}\n`);
  };

  const ring = (caller: Terminal, callee: Terminal, target: string): Promise<string> => ringWithNetkit(caller, callee, target, T);
  const connect = (caller: Terminal, callee: Terminal, target: string): Promise<void> => connectWithNetkit(caller, callee, target, T);

  /** One line each way; returns how long the first line took to arrive (ms). */
  async function exchange(x: Terminal, y: Terminal, label: string, timeoutMs = T): Promise<number> {
    const tag = `${label}-${Date.now().toString(36)}`;
    const sent = Date.now();
    await x.type(`x ${tag}`);
    await y.waitFor(new RegExp(`x ${tag}`), timeoutMs);
    const took = Date.now() - sent;
    await y.type(`y ${tag}`);
    await x.waitFor(new RegExp(`y ${tag}`), timeoutMs);
    return took;
  }

  /** Kills `dead` (a dead machine) and waits until `next` serves; returns [killedAt, servingAt]. */
  async function failover(dead: HaNode, next: HaNode): Promise<[number, number]> {
    const killedAt = Date.now();
    await dead.crash();
    const servingAt = await next.waitRole('master', 15_000);
    note(`${dead.name} killed -> ${next.name} master after ${servingAt - killedAt} ms (advert ${ADVERT_INT_S} s)`);
    // The safe order: conntrackd committed before the gateway was told to serve, resynced after.
    const log = await waitUntil('the notify hook finished', async () => {
      const l = await next.notifyLog();
      const last = l.slice(l.lastIndexOf(' MASTER\n'));
      return /MASTER done/.test(last) ? last : undefined;
    }, 10_000, 100);
    const order = ['-c: ok (in the hook)', '"notify":"MASTER"', '-f: ok', '-R: ok', '-B: ok'].map((s) => log.indexOf(s));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > (order[k - 1] ?? 0))), `notify hook out of order:\n${log}`);
    return [killedAt, servingAt];
  }

  before(async () => {
    lab = await Lab.create(haSpec('tgha', ['alice', 'bob', 'carol', 'dave']));
    const daemons = new TalkdControl(lab);
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    alice = await lab.login('in', 'alice');
    carol = await lab.login('in', 'carol');
    bob = await lab.login('out', 'bob');
    dave = await lab.login('out', 'dave');
    outside = await lab.capture('out', 'outside', [], 'outside-segment');
    a = new HaNode(lab, 'gwa');
    b = new HaNode(lab, 'gwb');
    await a.start();
    await a.waitRole('master', 20_000);
    await b.start();
    await sleep(2_500 * ADVERT_INT_S);
    assert.equal(await b.role(), 'backup', 'gwb joined as backup');
  });

  after(async () => {
    if (process.env['TG_LAB_SHOW_LOG'] === '1') process.stderr.write(`${a?.log()}\n${b?.log()}\n${await a?.notifyLog()}\n${await b?.notifyLog()}\n`);
    await outside?.stop().catch(() => undefined);
    await lab?.destroy();
    process.stderr.write(`ha lab: ${report.join('; ')}\nha lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  test('both rulesets: forward policy drop, the inside SNATed to the virtual outside address, invalid dropped before NAT', async () => {
    for (const n of ['gwa', 'gwb']) {
      const text = (await lab.exec(n, ['nft', 'list', 'table', 'ip', 'tgha_pinhole'])).stdout;
      assert.match(text, /hook forward priority filter; policy drop;/);
      assert.match(text, new RegExp(`ip saddr 10\\.1\\.0\\.0/24 snat to ${VIP_OUT.replaceAll('.', '\\.')}`));
      assert.match(text, /ct state invalid drop/);
      assert.equal((await lab.exec(n, ['sysctl', '-n', 'net.ipv4.ip_nonlocal_bind'])).stdout.trim(), '1');
      assert.equal((await lab.exec(n, ['sysctl', '-n', 'net.netfilter.nf_conntrack_tcp_loose'])).stdout.trim(), '0');
    }
    // The backup already listens on the virtual addresses it does not own.
    const ss = (await lab.exec('gwb', ['ss', '-H', '-uln', 'sport = :518'])).stdout;
    assert.ok(ss.includes(`${VIP_OUT}:518`) && ss.includes(`${VIP_IN}:518`), ss);
    assert.equal(await b.holes(), 0);
  });

  test('conversations in progress (outbound and inbound) survive kill -9 of the master: text typed after the failover arrives', async () => {
    await connect(alice, bob, `bob@${VIP_IN}`);
    await connect(dave, carol, `carol@${VIP_OUT}`);
    await exchange(alice, bob, 'before-out');
    await exchange(dave, carol, 'before-in');
    const ct = (await lab.exec('gwb', ['conntrack', '-L', '-p', 'tcp'], { check: false })).stdout;
    // The backup's kernel has nothing yet: the flows wait in conntrackd's external cache.
    const ext = (await lab.exec('gwb', [CONNTRACKD, '-C', `${b.dir}/conntrackd.conf`, '-e'], { check: false })).stdout;
    assert.ok(ext.includes(IN_ADDR), `gwb's external cache lacks the flows:\n${ext}\nkernel:\n${ct}`);
    const [killedAt] = await failover(a, b);
    const tag = Date.now().toString(36);
    await alice.type(`after-out ${tag}`);
    await carol.type(`after-in ${tag}`);
    await bob.waitFor(new RegExp(`after-out ${tag}`), 30_000);
    const gapOut = Date.now() - killedAt;
    await dave.waitFor(new RegExp(`after-in ${tag}`), 30_000);
    const gapIn = Date.now() - killedAt;
    note(`outbound conversation: first byte after the failover ${gapOut} ms after the kill; inbound ${gapIn} ms`);
    await exchange(bob, alice, 'later-out');
    await exchange(carol, dave, 'later-in');
    assert.equal((await lab.exec('gwb', ['ss', '-H', '-tan'])).stdout.trim(), '', 'the conversation crosses the kernel, not talkgate');
    await hangUp(alice, bob, dave, carol);
  });

  test('the old master returns as backup with no hole; a failback keeps a conversation started on the other node; a new call 1 s after it completes', async () => {
    await a.restore();
    await sleep(2_500 * ADVERT_INT_S);
    assert.equal(await a.role(), 'backup', 'gwa came back as backup (nopreempt)');
    assert.equal(await b.role(), 'master');
    assert.equal(await a.holes(), 0, 'no hole on the returned node');
    await connect(alice, bob, `bob@${VIP_IN}`);
    await exchange(alice, bob, 'on-gwb');
    await waitUntil('the flow replicated to gwa', async () => {
      const ext = (await lab.exec('gwa', [CONNTRACKD, '-C', `${a.dir}/conntrackd.conf`, '-e'], { check: false })).stdout;
      return ext.includes(IN_ADDR);
    }, 10_000, 200);
    const [killedAt, servingAt] = await failover(b, a);
    const tag = Date.now().toString(36);
    await bob.type(`failback ${tag}`);
    await alice.waitFor(new RegExp(`failback ${tag}`), 30_000);
    note(`failback: conversation started on gwb continues on gwa, first byte ${Date.now() - killedAt} ms after the kill`);
    await sleep(Math.max(0, servingAt + 1_000 - Date.now()));
    const started = Date.now();
    await connect(dave, carol, `carol@${VIP_OUT}`);
    await exchange(dave, carol, 'new-call');
    note(`new call started ${started - servingAt} ms after the failover: connected and talking after ${Date.now() - started} ms`);
    await hangUp(alice, bob, dave, carol);
    await b.restore();
    await sleep(2_500 * ADVERT_INT_S);
    assert.equal(await b.role(), 'backup');
    assert.equal(await b.holes(), 0);
  });

  test('a call ringing at the failover completes when the callee answers after it (outbound: alice inside calls bob)', async () => {
    const respondWith = await ring(alice, bob, `bob@${VIP_IN}`);
    const [, servingAt] = await failover(a, b);
    // bob answers at once (before alice's client re-announces): gwb never saw the call and rebuilds
    // it from alice's daemon (her LEAVE_INVITE), then opens a fresh hole.
    const answered = Date.now();
    await bob.type(`${NETKIT_TALK} ${respondWith}`);
    await bob.waitFor(/Connection established/, T);
    await alice.waitFor(/Connection established/, T);
    note(`outbound ringing call: answered ${answered - servingAt} ms after the failover, connected after ${Date.now() - answered} ms`);
    assert.ok(b.lines().some((l) => l.includes('call rebuilt from the caller')), 'gwb rebuilt the call');
    await exchange(alice, bob, 'rung-out');
    await hangUp(alice, bob);
    await a.restore();
    await sleep(2_500 * ADVERT_INT_S);
    assert.equal(await a.role(), 'backup');
  });

  test('a call ringing at the failover completes when the callee answers after it (inbound: dave outside calls carol)', async () => {
    const respondWith = await ring(dave, carol, `carol@${VIP_OUT}`);
    const [, servingAt] = await failover(b, a);
    const answered = Date.now();
    await carol.type(`${NETKIT_TALK} ${respondWith}`);
    await carol.waitFor(/Connection established/, T);
    await dave.waitFor(/Connection established/, T);
    note(`inbound ringing call: answered ${answered - servingAt} ms after the failover, connected after ${Date.now() - answered} ms`);
    assert.ok(a.lines().some((l) => l.includes('call rebuilt from the caller')), 'gwa rebuilt the call');
    await exchange(dave, carol, 'rung-in');
    await hangUp(dave, carol);
  });

  test('a ringing call whose callee waits for the re-announce: the new master rings again and the call completes', async () => {
    await ring(alice, bob, `bob@${VIP_IN}`);
    await b.restore();
    await sleep(2_500 * ADVERT_INT_S);
    const [, servingAt] = await failover(a, b);
    const m = bob.mark();
    const again = respondWithOf(await bob.waitForOutput(RESPOND_RE, m, REANNOUNCE_WAIT_MS));
    note(`ringing call re-rung through gwb by alice's re-announce ${Date.now() - servingAt} ms after the failover`);
    await bob.type(`${NETKIT_TALK} ${again}`);
    await bob.waitFor(/Connection established/, T);
    await alice.waitFor(/Connection established/, T);
    await hangUp(alice, bob);
  });

  test('split brain (VRRP between the nodes lost, both master) is detected and logged by the masters, and its end too', async () => {
    if (a.gw?.running !== true) await a.restore(); // killed by the test before
    await sleep(2_500 * ADVERT_INT_S);
    const [ra, rb] = [await a.role(), await b.role()];
    assert.ok(ra !== rb, `one master before: ${ra} / ${rb}`);
    // The nodes stop hearing each other's advertisements (both directions cut on gwa): gwa becomes master too.
    await lab.nft('gwa', 'table inet tgha_sb {\n  chain input {\n    type filter hook input priority -300; policy accept;\n    ip protocol vrrp drop\n  }\n  chain output {\n    type filter hook output priority -300; policy accept;\n    ip protocol vrrp drop\n  }\n}\n');
    try {
      await a.waitRole('master', 15_000);
      await b.waitRole('master', 15_000);
      const detected = await waitUntil('split brain logged', () => [a, b].find((n) => n.lines().some((l) => l.includes('ha: split brain: this node is master'))), 15_000, 100);
      note(`split brain detected by ${detected.name}`);
    } finally {
      await lab.exec('gwa', ['nft', 'delete', 'table', 'inet', 'tgha_sb']);
    }
    // The adverts meet again: the higher priority stays master, the other steps down; the end is logged.
    await waitUntil('one master again', async () => (await a.role()) !== (await b.role()), 15_000, 200);
    await waitUntil('split brain over', () => [a, b].some((n) => n.lines().some((l) => l.includes('ha: split brain over'))), 10_000, 100);
  });

  test('captures on the outside segment show no inside address during all of it', async () => {
    const path = await outside?.stop();
    outside = undefined;
    assert.ok(path !== undefined);
    const pkts = ipPackets(readPcap(path));
    assert.ok(pkts.length > 100, `${pkts.length} packets captured`);
    const leaks = pkts.filter((p) => p.src.startsWith('10.1.0.') || p.dst.startsWith('10.1.0.') || p.payload.includes(Buffer.from([10, 1, 0, 2])));
    assert.deepEqual(leaks.slice(0, 5).map((p) => `${p.src} > ${p.dst}`), [], `${leaks.length} outside packets name an inside address`);
    note(`outside capture: ${pkts.length} packets, none with an inside address`);
  });
});

describe('HA pair in a relay mode (classical): a relayed conversation cannot survive, it ends clearly; a new call works at once', { skip, timeout: 180_000 }, () => {
  let lab: Lab;
  let a: HaNode;
  let b: HaNode;
  let alice: Terminal;
  let bob: Terminal;

  before(async () => {
    lab = await Lab.create(haSpec('tgha', ['alice', 'bob']));
    const daemons = new TalkdControl(lab);
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    alice = await lab.login('in', 'alice');
    bob = await lab.login('out', 'bob');
    a = new HaNode(lab, 'gwa', { mode: 'classical' });
    b = new HaNode(lab, 'gwb', { mode: 'classical' });
    await a.start();
    await a.waitRole('master', 20_000);
    await b.start();
    await sleep(2_500 * ADVERT_INT_S);
  });

  after(async () => {
    if (process.env['TG_LAB_SHOW_LOG'] === '1') process.stderr.write(`${a?.log()}\n${b?.log()}\n`);
    await lab?.destroy();
  });

  test('after kill -9 of the master, each user\'s next keystroke ends the relayed conversation with "Connection closed"; calling again works through the new master', async () => {
    await connectWithNetkit(alice, bob, `bob@${VIP_IN}`, T);
    assert.ok((await lab.exec('gwa', ['ss', '-H', '-tan', 'state', 'established'])).stdout.trim() !== '', 'the conversation is relayed by gwa');
    await a.crash();
    await b.waitRole('master', 15_000);
    await alice.type('lost?');
    await bob.type('lost?');
    // The new master has no socket for the relayed connections: its kernel resets them, and netkit
    // shows "[Connection closed. ^C to exit]" (on the screen: the typescript has only the changed part).
    await alice.waitFor(/Connection closed/, 20_000);
    await bob.waitFor(/Connection closed/, 20_000);
    for (const t of [alice, bob]) await t.backToPrompt();
    await connectWithNetkit(alice, bob, `bob@${VIP_IN}`, T);
    await hangUp(alice, bob);
  });
});
