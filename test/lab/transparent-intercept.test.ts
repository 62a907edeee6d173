/**
 * Transparent interception proven in namespaces (prefix tgt):
 *   in 10.1.0.2 ── fw 10.1.0.1 | 198.51.100.1 (forward policy drop) ── out 198.51.100.2
 * A gateway agent on fw (test/lab/transparent-agent.ts: installIntercept + openTransparentUdp +
 * sendFrom) answers every intercepted datagram "echo:<data>" from the original destination.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { labSkip } from './prereq.js';
import { threeHosts, FW_IN_ADDR, INSIDE_IF, IN_ADDR, OUTSIDE_IF, OUT_ADDR } from './topologies.js';
import { agentArgv, events, waitEvent } from './transparent-lab.js';
import type { Lab, LabProcess } from './lab.js';

const skip = labSkip();

const PREFIX = 'tgt';
const TABLE = `${PREFIX}_intercept`;
const TPROXY_PORT = 15518;
const INTERCEPT = { insideInterface: INSIDE_IF, outsideInterface: OUTSIDE_IF, port: TPROXY_PORT, table: TABLE, inbound: true };
/** How long a sender waits for an answer that must come (or must not). */
const REPLY_WAIT_MS = 1_500;

interface SendResult {
  reply?: { from: { address: string; port: number }; data: string };
  rttMs?: number;
  timeout?: boolean;
  local: { address: string; port: number };
}

describe('transparent interception (tproxy + IP_ORIGDSTADDR + sendFrom)', { skip }, () => {
  let lab: Lab;
  let gw: LabProcess | undefined;
  let outListener: LabProcess | undefined;
  const rtts: number[] = [];

  async function send(host: string, to: { address: string; port: number }, payload: string): Promise<SendResult> {
    const r = await lab.exec(host, agentArgv('send', { to, payload, timeoutMs: REPLY_WAIT_MS }), { timeoutMs: 20_000 });
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    const res = JSON.parse(line) as SendResult;
    if (res.rttMs !== undefined) rtts.push(res.rttMs);
    return res;
  }

  async function startGateway(): Promise<LabProcess> {
    const p = lab.spawn('fw', agentArgv('gateway', { port: TPROXY_PORT, intercept: INTERCEPT }));
    await waitEvent(p, 'ready', 20_000);
    return p;
  }

  function datagrams(p: LabProcess): { source: { address: string; port: number }; originalDestination: { address: string; port: number }; data: string }[] {
    return events(p)
      .filter((e) => 'datagram' in e)
      .map((e) => e['datagram'] as never);
  }

  async function ipRulesWithMark(): Promise<number> {
    const r = await lab.exec('fw', ['ip', '-4', 'rule', 'show']);
    return r.stdout.split('\n').filter((l) => l.includes('fwmark 0x7467')).length;
  }

  async function tableRules(): Promise<number | null> {
    const r = await lab.exec('fw', ['nft', '-j', 'list', 'table', 'ip', TABLE], { check: false });
    if (r.code !== 0) return null;
    const doc = JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] };
    return doc.nftables.filter((o) => 'rule' in o).length;
  }

  before(async () => {
    lab = await threeHosts(PREFIX, { fw: 'drop' });
    // Everything that crosses to out (or leaks) shows up here: talk ports and the "other" port.
    outListener = lab.spawn('out', agentArgv('listen', { port: 518, ms: 50_000 }));
    await waitEvent(outListener, 'listening');
    gw = await startGateway();
  });

  after(async () => {
    if (rtts.length > 0) {
      const sorted = [...rtts].sort((a, b) => a - b);
      process.stderr.write(`[transparent lab] intercepted request/answer round trips (ms, sender-measured): n=${sorted.length} min=${sorted[0]?.toFixed(2)} median=${sorted[Math.floor(sorted.length / 2)]?.toFixed(2)} max=${sorted.at(-1)?.toFixed(2)}\n`);
    }
    await lab?.destroy();
  });

  test('installing creates one table with both rules and one ip rule', async () => {
    assert.equal(await tableRules(), 2);
    assert.equal(await ipRulesWithMark(), 1);
    const route = await lab.exec('fw', ['ip', '-4', 'route', 'show', 'table', '7467']);
    assert.match(route.stdout, /^local default dev lo/m);
  });

  test('outbound: inside → 198.51.100.2:518 is intercepted and answered from 198.51.100.2:518', async () => {
    const r = await send('in', { address: OUT_ADDR, port: 518 }, 'hello-out');
    assert.deepEqual(r.reply, { from: { address: OUT_ADDR, port: 518 }, data: 'echo:hello-out' }, 'the connected client socket accepted the answer');
    const d = datagrams(gw!).find((x) => x.data === 'hello-out');
    assert.ok(d, 'the gateway saw it');
    assert.deepEqual(d.originalDestination, { address: OUT_ADDR, port: 518 });
    assert.deepEqual(d.source, { address: IN_ADDR, port: r.local.port });
    assert.ok(!outListener!.stdout.includes('hello-out'), 'nothing reached out');
  });

  test('outbound on 517 (otalk) is intercepted too, several times in a row', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await send('in', { address: OUT_ADDR, port: 517 }, `otalk-${i}`);
      assert.deepEqual(r.reply, { from: { address: OUT_ADDR, port: 517 }, data: `echo:otalk-${i}` });
    }
  });

  test('inbound (routable inside): outside → 10.1.0.2:518 is intercepted and answered from 10.1.0.2:518', async () => {
    const r = await send('out', { address: IN_ADDR, port: 518 }, 'hello-in');
    assert.deepEqual(r.reply, { from: { address: IN_ADDR, port: 518 }, data: 'echo:hello-in' });
    const d = datagrams(gw!).find((x) => x.data === 'hello-in');
    assert.deepEqual(d?.originalDestination, { address: IN_ADDR, port: 518 });
    assert.deepEqual(d?.source, { address: OUT_ADDR, port: r.local.port });
  });

  test('other traffic is still dropped: UDP to another port, and TCP', async () => {
    const other = lab.spawn('out', agentArgv('listen', { port: 9999, ms: 5_000 }));
    await waitEvent(other, 'listening');
    const r = await send('in', { address: OUT_ADDR, port: 9999 }, 'other-port');
    assert.equal(r.timeout, true);
    assert.ok(!other.stdout.includes('other-port'), 'udp/9999 did not cross');
    assert.ok(!datagrams(gw!).some((x) => x.data === 'other-port'), 'and was not intercepted');
    await other.kill();
    const tcp = await lab.exec('in', ['bash', '-c', `timeout 1 bash -c 'exec 3<>/dev/tcp/${OUT_ADDR}/518' 2>&1; echo rc=$?`], { check: false });
    assert.match(tcp.stdout, /rc=124/, 'a TCP connect to out hangs (dropped), it is neither accepted nor refused');
  });

  test("traffic to the gateway's own address on 518 is not intercepted", async () => {
    const own = lab.spawn('fw', agentArgv('listen', { port: 518, ms: 5_000 }));
    await waitEvent(own, 'listening');
    const r = await send('in', { address: FW_IN_ADDR, port: 518 }, 'to-gateway');
    assert.equal(r.timeout, true, 'the plain listener does not answer; the interceptor must not either');
    await waitEvent(own, 'got', 2_000);
    assert.ok(own.stdout.includes('to-gateway'), "the gateway's own socket got it");
    assert.ok(!datagrams(gw!).some((x) => x.data === 'to-gateway'), 'the interceptor did not');
    await own.kill();
  });

  test('kill -9 leaves the table; the next start replaces it (one table, one ip rule) and intercepts', async () => {
    await gw!.kill('SIGKILL');
    assert.equal(await tableRules(), 2, 'the dead process left its table');
    gw = await startGateway();
    assert.equal(await tableRules(), 2, 'replaced, not duplicated');
    assert.equal(await ipRulesWithMark(), 1);
    const r = await send('in', { address: OUT_ADDR, port: 518 }, 'after-restart');
    assert.deepEqual(r.reply, { from: { address: OUT_ADDR, port: 518 }, data: 'echo:after-restart' });
  });

  test('a clean stop removes table, ip rule and route; then nothing is intercepted and forward still drops', async () => {
    gw!.child.kill('SIGTERM');
    const stopped = await waitEvent(gw!, 'stopped', 10_000);
    assert.deepEqual(stopped['stopped'], { report: { table: { ok: true, message: '' }, rulesDeleted: 1, routeDeleted: true } });
    await gw!.wait(5_000);
    assert.equal(await tableRules(), null);
    assert.equal(await ipRulesWithMark(), 0);
    const r = await send('in', { address: OUT_ADDR, port: 518 }, 'after-stop');
    assert.equal(r.timeout, true);
    assert.ok(!outListener!.stdout.includes('after-stop'), 'dropped by the forward policy, not leaked');
  });

  test('SO_ORIGINAL_DST: a TCP connection redirected on fw reports where the client connected', async () => {
    await lab.nft(
      'fw',
      `table ip ${PREFIX}_redirect {\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    iifname "${INSIDE_IF}" tcp dport 7777 redirect to :17777\n  }\n}\n`,
    );
    const srv = lab.spawn('fw', agentArgv('redirect-original-dst', { port: 17777, ms: 10_000 }));
    await waitEvent(srv, 'listening');
    await lab.exec('in', ['bash', '-c', `timeout 3 bash -c 'exec 3<>/dev/tcp/${OUT_ADDR}/7777; head -1 <&3'`]);
    const e = await waitEvent(srv, 'originalDst');
    assert.deepEqual(e['originalDst'], { address: OUT_ADDR, port: 7777 });
    assert.deepEqual(e['local'], { address: FW_IN_ADDR, port: 17777 });
    await srv.kill();
    await lab.exec('fw', ['nft', 'delete', 'table', 'ip', `${PREFIX}_redirect`]);
  });
});
