/**
 * Issue 5 acceptance: `talkgate gateway` with mode = "transparent" on fw (forward policy drop),
 * unmodified netkit clients and daemons on both sides (prefix tgx):
 *   in 10.1.0.2 (alice) ── fw 10.1.0.1 | 198.51.100.1 ── out 198.51.100.2 (bob), out2 198.51.100.3
 * alice calls `talk bob@198.51.100.2` and bob answers with the printed command; bob calls
 * `talk alice@10.1.0.2` (inside routable) and alice answers the real caller; bob also reaches alice
 * through the classical naming of the gateway's outside address in the same running gateway.
 * tcpdump on fw's outside interface must never see an inside address. SIGTERM removes the table;
 * kill -9 leaves it and the next start replaces it. Other traffic between the networks stays dropped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { assertPrivilegeSeparated } from './privsep-check.js';
import { join } from 'node:path';
import { labSkip } from './prereq.js';
import { threeHosts, FW_IN_ADDR, FW_OUT_ADDR, IN_ADDR, OUT_ADDR, OUTSIDE_IF } from './topologies.js';
import { TalkdControl } from './talkd-control.js';
import { talkCall, type CallResult } from './talk-call.js';
import { talkgateArgv } from './peers.js';
import { agentArgv, transparentGatewayToml, waitEvent } from './transparent-lab.js';
import { readPcap } from './pcap-reader.js';
import { insideAddressLeaks } from './transparent-pcap.js';
import { sleep, waitUntil } from './proc.js';
import type { Capture, Lab, LabProcess } from './lab.js';
import type { Terminal } from './terminal.js';

const skip = labSkip();
const PREFIX = 'tgx';
const TABLE = `${PREFIX}_intercept`;

describe('gateway mode = "transparent" with real netkit talk on both sides', { skip, timeout: 170_000 }, () => {
  let lab: Lab;
  let alice: Terminal;
  let bob: Terminal;
  let gw: LabProcess | undefined;
  let capture: Capture | undefined;
  let daemons: TalkdControl;
  let configPath = '';
  const t0 = Date.now();
  const timings: Record<string, CallResult> = {};

  async function startGateway(): Promise<LabProcess> {
    const p = lab.spawn('fw', talkgateArgv('gateway', '--config', configPath, '--log-level', process.env['TG_LAB_GATEWAY_LOG_LEVEL'] ?? 'info'));
    await waitUntil('transparent gateway running', () => {
      if (!p.running) throw new Error(`gateway exited ${JSON.stringify(p.exitStatus)}:\n${p.stdout}\n${p.stderr}`);
      return p.stderr.includes('gateway running');
    }, 20_000, 50);
    return p;
  }

  async function tableRules(): Promise<number | null> {
    const r = await lab.exec('fw', ['nft', '-j', 'list', 'table', 'ip', TABLE], { check: false });
    if (r.code !== 0) return null;
    return (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables.filter((o) => 'rule' in o).length;
  }
  async function markRules(): Promise<number> {
    const r = await lab.exec('fw', ['ip', '-4', 'rule', 'show']);
    return r.stdout.split('\n').filter((l) => l.includes('fwmark 0x7467')).length;
  }

  before(async () => {
    lab = await threeHosts(PREFIX, { out2: true, fw: 'drop' });
    // With out2 fw's outside segment is a bridge; with br_netfilter loaded (this machine) bridged
    // IPv4 would pass prerouting with the bridge *port* as iif, not "outside". A router does not
    // filter at the bridge layer: per-namespace sysctl (kernel >= 5.3), absent without br_netfilter.
    await lab.exec('fw', ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0'], { check: false });
    daemons = new TalkdControl(lab);
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    alice = await lab.login('in', 'alice');
    bob = await lab.login('out', 'bob');
    configPath = join(lab.dir, 'gateway-transparent.toml');
    writeFileSync(configPath, transparentGatewayToml(TABLE));
    capture = await lab.capture('fw', OUTSIDE_IF, [], 'fw-outside');
    gw = await startGateway();
  });

  after(async () => {
    if (process.env['TG_LAB_SHOW_LOG'] === '1' && gw !== undefined) process.stderr.write(`--- gateway log ---\n${gw.stdout}\n${gw.stderr}\n`);
    for (const [k, r] of Object.entries(timings)) {
      process.stderr.write(`[transparent gateway] ${k}: announce ${r.announceMs} ms, connect ${r.connectMs} ms, respond with ${r.respondWith}\n`);
    }
    await lab?.destroy();
    process.stderr.write(`transparent gateway lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  test('installs one table (outbound, inbound, inbound replies) and one ip rule', async () => {
    assert.equal(await tableRules(), 3);
    assert.equal(await markRules(), 1);
  });

  test('privilege separation: the worker owning the faces and the tproxy socket runs unprivileged; the privileged process holds none', async () => {
    await assertPrivilegeSeparated(lab, 'fw', configPath);
  });

  test('outbound: alice runs `talk bob@198.51.100.2`, bob answers with the printed command (through the gateway)', async () => {
    const r = await talkCall({ caller: alice, callee: bob, target: `bob@${OUT_ADDR}` });
    timings['outbound'] = r;
    assert.ok([`alice@${lab.hostname('fw')}-1`, `alice@${FW_OUT_ADDR}`].includes(r.respondWith), `bob was told to answer ${r.respondWith}: the gateway's outside address`);
  });

  test('inbound (inside routable): bob runs `talk alice@10.1.0.2`; the announcement names the real caller, alice answers it', async () => {
    const r = await talkCall({ caller: bob, callee: alice, target: `alice@${IN_ADDR}` });
    timings['inbound'] = r;
    assert.ok([`bob@${lab.hostname('out')}`, `bob@${OUT_ADDR}`].includes(r.respondWith), `alice was told to answer ${r.respondWith}`);
    assert.match(r.calleeOutput.toString('latin1'), new RegExp(`connection requested by bob@(${lab.hostname('out')}|${OUT_ADDR.replace(/\./g, '\\.')})`));
  });

  test('inbound through the classical naming (`talk alice@198.51.100.1`) works in the same running gateway', async () => {
    const r = await talkCall({ caller: bob, callee: alice, target: `alice@${FW_OUT_ADDR}` });
    timings['classical inbound'] = r;
    assert.ok([`bob@${lab.hostname('fw')}`, `bob@${FW_IN_ADDR}`].includes(r.respondWith), `alice was told to answer ${r.respondWith}`);
  });

  test('tcpdump on fw\'s outside interface: no inside address in any header or payload', async () => {
    const pcap = await capture!.stop();
    capture = undefined;
    const frames = readPcap(pcap);
    assert.ok(frames.filter((f) => f.ip?.protocol === 17).length >= 6, `the calls' control datagrams were captured (${frames.length} frames)`);
    assert.ok(frames.some((f) => f.ip?.protocol === 6), 'and their TCP');
    // bob addressed alice's host himself (inbound, inside routable): his control datagrams to
    // 10.1.0.2:518 and the answers from there are the only places 10.1.0.2 may appear.
    assert.deepEqual(insideAddressLeaks(frames, [IN_ADDR, FW_IN_ADDR], { addressed: [IN_ADDR], talkPorts: [517, 518] }), []);
    const outboundControl = frames.filter((f) => f.ip?.protocol === 17 && f.ip.dst === OUT_ADDR && f.ip.dport === 518);
    assert.ok(outboundControl.length >= 2 && outboundControl.every((f) => f.ip?.src === FW_OUT_ADDR), "outbound calls reach bob's daemon from the gateway's outside address only");
    assert.ok(!frames.some((f) => f.ip?.protocol === 6 && (f.ip.src === IN_ADDR || f.ip.dst === IN_ADDR)), 'no TCP with an inside address');
  });

  test('TCP and UDP to another port between the networks are still dropped', async () => {
    const listener = lab.spawn('out', agentArgv('listen', { port: 9999, ms: 6_000 }));
    await waitEvent(listener, 'listening');
    const sent = await lab.exec('in', agentArgv('send', { to: { address: OUT_ADDR, port: 9999 }, payload: 'other-port', timeoutMs: 1_000 }), { timeoutMs: 15_000 });
    assert.match(sent.stdout, /"timeout":true/);
    const tcp = await lab.exec('in', ['bash', '-c', `timeout 1 bash -c 'exec 3<>/dev/tcp/${OUT_ADDR}/22' 2>&1; echo rc=$?`], { check: false });
    assert.match(tcp.stdout, /rc=124/, 'a TCP connect in → out hangs (dropped), neither accepted nor refused');
    const tcpIn = await lab.exec('out', ['bash', '-c', `timeout 1 bash -c 'exec 3<>/dev/tcp/${IN_ADDR}/22' 2>&1; echo rc=$?`], { check: false });
    assert.match(tcpIn.stdout, /rc=124/, 'and out → in');
    await listener.kill();
    assert.ok(!listener.stdout.includes('other-port'), 'udp/9999 did not cross');
  });

  test('kill -9 leaves the table; the next start replaces it and calls work again', async () => {
    await gw!.kill('SIGKILL');
    assert.equal(await tableRules(), 3, 'the killed gateway left its table');
    gw = await startGateway();
    assert.equal(await tableRules(), 3, 'replaced, not duplicated');
    assert.equal(await markRules(), 1);
    const r = await talkCall({ caller: alice, callee: bob, target: `bob@${OUT_ADDR}` });
    timings['outbound after restart'] = r;
  });

  test('inbound to an inside inetutils talkd (it answers to ctl_addr, and names the caller by reverse lookup)', async () => {
    await daemons.use('in', { kind: 'inetutils' });
    try {
      const r = await talkCall({ caller: bob, callee: alice, target: `alice@${IN_ADDR}` });
      timings['inbound, inetutils talkd inside'] = r;
      assert.ok([`bob@${lab.hostname('out')}`, `bob@${OUT_ADDR}`].includes(r.respondWith), `alice was told to answer ${r.respondWith}`);
    } finally {
      await daemons.use('in', { kind: 'netkit' });
    }
  });

  test('SIGTERM removes the table, the ip rule and the route', async () => {
    gw!.child.kill('SIGTERM');
    const exit = await gw!.wait(10_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `gateway output:\n${gw!.stdout}\n${gw!.stderr}`);
    assert.match(gw!.stderr, /interception removed/);
    assert.equal(await tableRules(), null);
    assert.equal(await markRules(), 0);
    const route = await lab.exec('fw', ['ip', '-4', 'route', 'show', 'table', '7467'], { check: false });
    assert.equal(route.stdout.trim(), '');
    await sleep(10);
  });
});
