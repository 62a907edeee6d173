/**
 * Issue 6: `talkgate gateway` with mode = "pinhole" between unmodified netkit talk clients and
 * daemons, in threeHosts (in: alice 10.1.0.2 | fw: the gateway | out: bob 198.51.100.2, out2).
 * The inside is NATed behind 198.51.100.1 and the forward policy is drop; talkgate owns the
 * firewall (its table tgn_pinhole replaces the lab's open/drop table). The conversation must flow
 * in the kernel: one hole per call, for the right peer, gone after connection and after expiry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { assertPrivilegeSeparated } from './privsep-check.js';
import { join } from 'node:path';
import { labSkip } from './prereq.js';
import { threeHosts, FW_IN_ADDR, FW_OUT_ADDR, IN_ADDR, OUT_ADDR, OUT2_ADDR } from './topologies.js';
import { RESPOND_RE, exchangeTaggedLines, respondWithOf } from './talk-call.js';
import { TalkdControl } from './talkd-control.js';
import { NETKIT_TALK, talkgateArgv } from './peers.js';
import { sleep, waitUntil } from './proc.js';
import type { Lab, LabProcess } from './lab.js';
import type { Terminal } from './terminal.js';

const skip = labSkip(['/usr/sbin/conntrack', '/usr/bin/socat']);
const TABLE = 'tgn_pinhole';
const PORTS = [41000, 41001] as const;
const HOLE_TIMEOUT_S = 8;
const T = 15_000;

const CONFIG = `
mode = "pinhole"
[inside]
address = "${FW_IN_ADDR}"
interface = "inside"
networks = ["10.1.0.0/24"]
[outside]
address = "${FW_OUT_ADDR}"
interface = "outside"
hosts = { "bobhost" = "${OUT_ADDR}" }
dns = false
[directory]
alice = "alice@${IN_ADDR}"
bob = "bob@${OUT_ADDR}"
[[policy]]
action = "allow"
[admin]
listen = "off"
[audit]
file = "AUDIT_FILE"
[transparent]
table = "tgn_intercept"
[pinhole]
table = "${TABLE}"
ports = "${PORTS[0]}-${PORTS[1]}"
hole_timeout = ${HOLE_TIMEOUT_S}
outbound = "holes"
`;

interface Element {
  readonly set: string;
  readonly key: readonly (string | number)[];
  readonly comment: string | undefined;
}

describe('pinhole gateway: talk-aware NAT with one nftables hole per call', { skip, timeout: 180_000 }, () => {
  let lab: Lab;
  let daemons: TalkdControl;
  let alice: Terminal;
  let bob: Terminal;
  let gw: LabProcess | undefined;
  let confPath = '';
  let auditPath = '';
  const t0 = Date.now();

  async function startGateway(conf = confPath): Promise<void> {
    gw = lab.spawn('fw', talkgateArgv('gateway', '--config', conf, '--log-level', 'debug'));
    await lab.waitUdpListen('fw', 518, gw);
    // The sockets may still be a killed predecessor's for a moment: wait for this gateway's word.
    await waitUntil('gateway running', async () => gwLines().some((l) => l.includes('"gateway running')), 15_000, 50);
    await waitUntil('gateway on the outside face', async () => {
      const r = await lab.exec('fw', ['ss', '-H', '-uln', 'sport = :518'], { check: false });
      return r.stdout.includes(`${FW_OUT_ADDR}:518`);
    }, 10_000, 50);
  }

  /** Every element of every set/map of our table. */
  async function holes(table = TABLE): Promise<Element[]> {
    const r = await lab.exec('fw', ['nft', '-j', 'list', 'table', 'ip', table]);
    const doc = JSON.parse(r.stdout) as { nftables: Record<string, { name?: string; elem?: unknown[] }>[] };
    const out: Element[] = [];
    for (const o of doc.nftables) {
      const body = o['set'] ?? o['map'];
      if (body?.elem === undefined) continue;
      for (const raw of body.elem) {
        const k = Array.isArray(raw) ? raw[0] : raw;
        const inner = ((k as { elem?: Record<string, unknown> }).elem ?? { val: k }) as { val: unknown; comment?: string };
        const v = inner.val as { concat?: (string | number)[] } | string;
        out.push({ set: body.name ?? '?', key: typeof v === 'object' && v.concat ? v.concat : [String(v)], comment: inner.comment });
      }
    }
    return out;
  }

  async function waitHoles(pred: (els: Element[]) => boolean, what: string, ms = 5_000): Promise<Element[]> {
    let last: Element[] = [];
    return waitUntil(what, async () => {
      last = await holes();
      return pred(last) ? last : undefined;
    }, ms, 50).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(last)}\n--- gateway ---\n${gwLog()}`);
    });
  }

  /** The gateway's log lines (pino writes JSON lines to stdout or stderr). */
  function gwLines(): string[] {
    return `${gw?.stdout ?? ''}\n${gw?.stderr ?? ''}`.split('\n');
  }

  function gwLog(): string {
    return `${gw?.stdout.slice(-6000) ?? ''}${gw?.stderr.slice(-2000) ?? ''}`;
  }

  /** A TCP connect from `host` to addr:port; true when it connected. */
  async function tcpConnects(host: string, addr: string, port: number): Promise<boolean> {
    const r = await lab.exec(host, ['socat', '-u', 'OPEN:/dev/null', `TCP:${addr}:${port},connect-timeout=2`], { check: false, timeoutMs: 6_000 });
    return r.code === 0;
  }

  async function hangUp(...ts: Terminal[]): Promise<void> {
    for (const t of ts) {
      await t.key('C-c');
      await t.backToPrompt();
    }
  }

  before(async () => {
    lab = await threeHosts('tgn', { out2: true, fw: 'drop' });
    // talkgate owns the firewall: its own table (forward policy drop, masquerade) replaces the lab's.
    await lab.exec('fw', ['nft', 'delete', 'table', 'inet', 'tgn_fw']);
    daemons = new TalkdControl(lab);
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    alice = await lab.login('in', 'alice');
    bob = await lab.login('out', 'bob');
    confPath = join(lab.hostDir('fw'), 'gateway.toml');
    auditPath = join(lab.hostDir('fw'), 'audit.jsonl');
    writeFileSync(confPath, CONFIG.replace('AUDIT_FILE', auditPath), { mode: 0o644 });
    await startGateway();
  });

  after(async () => {
    if (process.env['TG_LAB_SHOW_LOG'] === '1') process.stderr.write(`--- gateway log ---\n${gwLog()}\n`);
    await gw?.kill();
    await lab?.destroy();
    process.stderr.write(`pinhole lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  test('startup: our table forwards nothing by default and masquerades the inside', async () => {
    assert.deepEqual(await holes(), []);
    const text = (await lab.exec('fw', ['nft', 'list', 'table', 'ip', TABLE])).stdout;
    assert.match(text, /hook forward priority filter; policy drop;/);
    assert.match(text, /ip saddr 10\.1\.0\.0\/24 masquerade/);
    assert.equal(await tcpConnects('out', IN_ADDR, 22), false, 'no route through the closed firewall');
  });

  test('outbound call (alice inside → bob outside): exactly one hole for bob while ringing, a kernel-only conversation, no hole after', async () => {
    const bMark = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${FW_IN_ADDR}`);
    const announced = await bob.waitForOutput(RESPOND_RE, bMark, T);
    const respondWith = respondWithOf(announced);
    try {
      // During ringing: one hole, for bob only, every element labelled with the call id.
      const els = await waitHoles((e) => e.length === 4, 'the call hole');
      const callId = els[0]?.comment ?? '';
      assert.match(callId, /^c-\d{6}$/);
      assert.ok(els.every((e) => e.comment === callId), JSON.stringify(els));
      assert.deepEqual(els.map((e) => e.set).sort(), ['callmark4', 'dnat4addr', 'dnat4port', 'pin4']);
      const pin = els.find((e) => e.set === 'pin4');
      assert.equal(pin?.key[0], OUT_ADDR, 'the hole admits bob only');
      assert.equal(pin?.key[1], IN_ADDR);
      const dnat = els.find((e) => e.set === 'dnat4port');
      const port = Number(dnat?.key[2]);
      assert.ok(PORTS.includes(port as 41000 | 41001), `external port ${port}`);
      // out2 cannot use bob's hole, and its try does not consume it.
      assert.equal(await tcpConnects('out2', FW_OUT_ADDR, port), false, 'out2 connected through the hole');
      assert.equal((await holes()).filter((e) => e.set === 'pin4').length, 1, 'the hole survived out2');

      await bob.type(`${NETKIT_TALK} ${respondWith}`);
      await bob.waitFor(/Connection established/, T);
      await alice.waitFor(/Connection established/, T);
      // Connected: the hole is gone (conntrack keeps the flow) within a poll period.
      await waitHoles((e) => e.length === 0, 'no hole once connected', 2_000);
      // The conversation crosses the kernel: no TCP socket in the gateway's namespace, a marked flow.
      const ss = (await lab.exec('fw', ['ss', '-H', '-tan'])).stdout.trim();
      assert.equal(ss, '', `TCP sockets in the gateway's namespace:\n${ss}`);
      const ct = (await lab.exec('fw', ['conntrack', '-L', '-p', 'tcp'], { check: false })).stdout;
      assert.ok(
        ct.split('\n').some((l) => l.includes('ESTABLISHED') && l.includes(`src=${OUT_ADDR}`) && l.includes(`dport=${port}`) && /mark=[1-9]/.test(l)),
        `no marked flow bob → ${FW_OUT_ADDR}:${port}:\n${ct}`,
      );
      // A second connection through the used hole fails.
      assert.equal(await tcpConnects('out', FW_OUT_ADDR, port), false, 'a second connection used the hole');

      await exchangeTaggedLines(alice, bob, T);
      await hangUp(alice, bob);
      // The gateway notices the end of the flow and ends the call.
      await waitUntil('call ended in the gateway log', () => gwLines().some((l) => l.includes('"call ended"') && l.includes(`"${callId}"`)), 8_000, 100).catch(() => {
        throw new Error(`no "call ended" for ${callId}\n${gwLog()}`);
      });
      // The audit log of the relay modes applies unchanged; the bytes are the kernel flow's counters.
      const ended = readFileSync(auditPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => r['event'] === 'ended' && r['callId'] === callId);
      assert.ok(ended !== undefined && Number(ended['bytesIn']) > 0 && Number(ended['bytesOut']) > 0, `audit: ${JSON.stringify(ended)}`);
    } finally {
      await hangUp(alice, bob);
    }
  });

  test('inbound call (bob outside → alice inside): one outbound hole for alice to bob only, none after', async () => {
    const aMark = alice.mark();
    await bob.type(`${NETKIT_TALK} alice@${FW_OUT_ADDR}`);
    const announced = await alice.waitForOutput(RESPOND_RE, aMark, T);
    const respondWith = respondWithOf(announced);
    try {
      const els = await waitHoles((e) => e.length === 2, 'the outbound hole');
      assert.deepEqual(els.map((e) => e.set).sort(), ['callmark4', 'pinout4']);
      const pin = els.find((e) => e.set === 'pinout4');
      assert.equal(pin?.key[0], IN_ADDR);
      assert.equal(pin?.key[1], OUT_ADDR, 'the hole lets alice reach bob only');
      // Outbound forwarding is otherwise closed: alice cannot reach out2.
      assert.equal(await tcpConnects('in', OUT2_ADDR, Number(pin?.key[3])), false);

      await alice.type(`${NETKIT_TALK} ${respondWith}`);
      await alice.waitFor(/Connection established/, T);
      await bob.waitFor(/Connection established/, T);
      await waitHoles((e) => e.length === 0, 'no hole once connected', 2_000);
      assert.equal((await lab.exec('fw', ['ss', '-H', '-tan'])).stdout.trim(), '');
      const tag = Date.now().toString(36);
      await bob.type(`bob-in ${tag}`);
      await alice.type(`alice-in ${tag}`);
      await alice.waitFor(new RegExp(`bob-in ${tag}`), T);
      await bob.waitFor(new RegExp(`alice-in ${tag}`), T);
    } finally {
      await hangUp(bob, alice);
    }
  });

  test('intercepted outbound call (alice runs talk bob@<bob\'s own address>): the same single hole, kernel-only conversation', async () => {
    const bMark = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${OUT_ADDR}`);
    const announced = await bob.waitForOutput(RESPOND_RE, bMark, T);
    const respondWith = respondWithOf(announced);
    try {
      const els = await waitHoles((e) => e.length === 4, 'the call hole');
      const pin = els.find((e) => e.set === 'pin4');
      assert.deepEqual(pin?.key.slice(0, 2), [OUT_ADDR, IN_ADDR]);
      await bob.type(`${NETKIT_TALK} ${respondWith}`);
      await bob.waitFor(/Connection established/, T);
      await alice.waitFor(/Connection established/, T);
      await waitHoles((e) => e.length === 0, 'no hole once connected', 2_000);
      assert.equal((await lab.exec('fw', ['ss', '-H', '-tan'])).stdout.trim(), '');
      const tag = Date.now().toString(36);
      await alice.type(`icpt-a ${tag}`);
      await bob.waitFor(new RegExp(`icpt-a ${tag}`), T);
      assert.ok(gwLines().some((l) => l.includes('"call requested"') && l.includes('"intercepted"')), 'the request was intercepted');
    } finally {
      await hangUp(alice, bob);
    }
  });

  test('an unanswered call: its hole is gone within 1 s of expiry', async () => {
    const bMark = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${FW_IN_ADDR}`);
    try {
      await bob.waitForOutput(RESPOND_RE, bMark, T);
      await waitHoles((e) => e.length === 4, 'the call hole');
      const listed = Date.now();
      const text = (await lab.exec('fw', ['nft', 'list', 'set', 'ip', TABLE, 'pin4'])).stdout;
      const m = /expires (?:(\d+)s)?(?:(\d+)ms)?/.exec(text);
      assert.ok(m !== null, text);
      const expiry = listed + Number(m[1] ?? 0) * 1000 + Number(m[2] ?? 0);
      await waitHoles((e) => e.length === 0, 'every element of the expired hole gone', HOLE_TIMEOUT_S * 1000 + 3_000);
      const late = Date.now() - expiry;
      assert.ok(late <= 1_000, `hole gone ${late} ms after its expiry`);
    } finally {
      await hangUp(alice);
    }
  });

  test('a failed transaction (external ports already mapped) refuses the caller; the callee is never rung', async () => {
    // Something else holds bob's mappings on both pinhole ports: every create of ours fails (EEXIST).
    const foreign = PORTS.map((p) => `${OUT_ADDR} . tcp . ${p} : 10.1.0.99`).join(', ');
    await lab.exec('fw', ['nft', `add element ip ${TABLE} dnat4addr { ${foreign} }`]);
    const bMark = bob.mark();
    const aMark = alice.mark();
    try {
      await alice.type(`${NETKIT_TALK} bob@${FW_IN_ADDR}`);
      await alice.waitForOutput(/too confused|refusing|not logged|Target machine/, aMark, T);
      assert.ok(await alice.backToPrompt());
      await sleep(1_500);
      assert.ok(!/Message from|respond with/.test(bob.typescript(bMark)), `bob was rung:\n${bob.typescript(bMark)}`);
      const els = await holes();
      assert.deepEqual(els.map((e) => e.comment), [undefined, undefined], 'only the foreign elements, nothing of ours');
    } finally {
      await lab.exec('fw', ['nft', `delete element ip ${TABLE} dnat4addr { ${PORTS.map((p) => `${OUT_ADDR} . tcp . ${p}`).join(', ')} }`], { check: false });
      await hangUp(alice);
    }
  });

  test('kill -9 during ringing, restart: no hole of the old process remains', async () => {
    const bMark = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${FW_IN_ADDR}`);
    try {
      await bob.waitForOutput(RESPOND_RE, bMark, T);
      await waitHoles((e) => e.length === 4, 'the call hole');
      await gw?.kill('SIGKILL');
      assert.equal((await holes()).length, 4, 'the crashed process left its hole behind');
      await startGateway();
      assert.deepEqual(await holes(), [], 'restart removed the old hole');
    } finally {
      await hangUp(alice);
    }
  });

  test('privilege separation: the worker owning the peer sockets runs unprivileged; the privileged process holds none', async () => {
    await assertPrivilegeSeparated(lab, 'fw', confPath);
  });

  test('kill -9 of the worker during ringing: its hole is gone within 1 s, a new worker serves a new call, the audit log is intact', async () => {
    const oldWorker = await assertPrivilegeSeparated(lab, 'fw', confPath);
    const bMark = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${FW_IN_ADDR}`);
    try {
      await bob.waitForOutput(RESPOND_RE, bMark, T);
      await waitHoles((e) => e.length === 4, 'the call hole');
      const killedAt = Date.now();
      process.kill(oldWorker, 'SIGKILL');
      await waitHoles((e) => e.length === 0, 'no hole of the dead worker', 1_000);
      process.stderr.write(`pinhole lab: worker killed during ringing, its hole gone after ${Date.now() - killedAt} ms\n`);
    } finally {
      await hangUp(alice);
    }
    await waitUntil('a new worker', async () => {
      try {
        return (await assertPrivilegeSeparated(lab, 'fw', confPath)) !== oldWorker;
      } catch {
        return false;
      }
    }, 10_000, 100);
    const m2 = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${FW_IN_ADDR}`);
    const announced = await bob.waitForOutput(RESPOND_RE, m2, T);
    try {
      await bob.type(`${NETKIT_TALK} ${respondWithOf(announced)}`);
      await bob.waitFor(/Connection established/, T);
      await alice.waitFor(/Connection established/, T);
    } finally {
      await hangUp(alice, bob);
    }
    const lines = readFileSync(auditPath, 'utf8').split('\n').filter((l) => l !== '');
    for (const l of lines) JSON.parse(l);
    assert.ok(lines.some((l) => l.includes('"event":"connected"')), 'the new worker audited its call');
  });

  test('inside an administrator\'s ruleset (own_firewall = false): only our prefixed chains and sets change', async () => {
    await gw?.kill('SIGTERM');
    await lab.exec('fw', ['nft', 'delete', 'table', 'ip', TABLE]);
    // The administrator's table: his own policy and masquerade, jumps to talkgate's (empty) chains.
    await lab.nft('fw', [
      'table ip tgn_admin {',
      '  chain talkgate_prerouting {', '  }',
      '  chain talkgate_postrouting {', '  }',
      '  chain talkgate_forward {', '  }',
      '  chain admin_pre { type nat hook prerouting priority dstnat; policy accept; jump talkgate_prerouting; }',
      '  chain admin_post { type nat hook postrouting priority srcnat; policy accept; oifname "outside" ip saddr 10.1.0.0/24 masquerade comment "admin-masq"; jump talkgate_postrouting; }',
      '  chain admin_fwd { type filter hook forward priority filter; policy drop; ct state established,related accept; jump talkgate_forward; counter comment "admin-drop"; }',
      '}',
    ].join('\n') + '\n');
    const adminConf = join(lab.hostDir('fw'), 'gateway-admin.toml');
    writeFileSync(adminConf, CONFIG.replace('AUDIT_FILE', auditPath).replace(`table = "${TABLE}"`, 'table = "tgn_admin"\nown_firewall = false\nprefix = "talkgate_"'), { mode: 0o644 });
    await startGateway(adminConf);
    const bMark = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${FW_IN_ADDR}`);
    const announced = await bob.waitForOutput(RESPOND_RE, bMark, T);
    const respondWith = respondWithOf(announced);
    try {
      const els = await waitUntil('the call hole in the administrator\'s table', async () => {
        const e = await holes('tgn_admin');
        return e.length === 4 ? e : undefined;
      }, 5_000, 50);
      assert.deepEqual(els.map((e) => e.set).sort(), ['talkgate_callmark4', 'talkgate_dnat4addr', 'talkgate_dnat4port', 'talkgate_pin4']);
      await bob.type(`${NETKIT_TALK} ${respondWith}`);
      await bob.waitFor(/Connection established/, T);
      await alice.waitFor(/Connection established/, T);
      const tag = Date.now().toString(36);
      await alice.type(`admin-a ${tag}`);
      await bob.waitFor(new RegExp(`admin-a ${tag}`), T);
      await waitUntil('no hole once connected', async () => (await holes('tgn_admin')).length === 0, 2_000, 50);
    } finally {
      await hangUp(alice, bob);
    }
    await gw?.kill('SIGTERM');
    const text = (await lab.exec('fw', ['nft', 'list', 'table', 'ip', 'tgn_admin'])).stdout;
    for (const mine of ['admin-masq', 'admin-drop', 'jump talkgate_forward', 'policy drop']) assert.ok(text.includes(mine), `the administrator's rule "${mine}" is gone:\n${text}`);
    assert.deepEqual(await holes('tgn_admin'), []);
  });
});
