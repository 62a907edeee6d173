/**
 * Issue 7 §4: a full talk call where the gateway host and the middlebox host are different
 * namespaces. The gateway (mode = "pinhole", [middlebox] pcp) is a dual-homed MIDCOM agent that
 * relays only the talk control messages; the conversation flows through `talkgate middlebox`
 * (a NAT with forward policy drop), whose hole the gateway opens over PCP (MAP + THIRD_PARTY for
 * alice + FILTER for bob) before bob is rung.
 *
 *   in alice 10.1.0.2 ─┐                         ┌─ out bob 198.51.100.2, out2 198.51.100.3
 *                      ├─ inside (bridge in gw) ─ mb 10.1.0.1 | 198.51.100.1 ─ outside (bridge in gw)
 *   gw 10.1.0.3 ───────┘        gw 198.51.100.4 ───────────────────────────────┘
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from './prereq.js';
import { Lab, type LabProcess } from './lab.js';
import { RESPOND_RE, exchangeTaggedLines, respondWithOf } from './talk-call.js';
import { TalkdControl } from './talkd-control.js';
import { NETKIT_TALK, talkgateArgv } from './peers.js';
import { sleep, waitUntil } from './proc.js';
import type { Terminal } from './terminal.js';

const skip = labSkip(['/usr/bin/socat']);
const IN = '10.1.0.2';
const MB_IN = '10.1.0.1';
const MB_OUT = '198.51.100.1';
const GW_IN = '10.1.0.3';
const GW_OUT = '198.51.100.4';
const OUT = '198.51.100.2';
const OUT2 = '198.51.100.3';
const TABLE = 'talkgate_pcp';
const T = 15_000;

function middleboxConfig(agents: string[]): string {
  return `[inside]\naddress = "${MB_IN}"\ninterface = "inside"\nnetworks = ["10.1.0.0/24"]\n[outside]\naddress = "${MB_OUT}"\ninterface = "outside"\n` +
    `[pcp]\nmin_lifetime = 5\nmax_lifetime = 3600\nthird_party = [${agents.map((a) => `"${a}"`).join(', ')}]\n[firewall]\ntable = "${TABLE}"\n`;
}

const GATEWAY_CONFIG = `
mode = "pinhole"
[inside]
address = "${GW_IN}"
networks = ["10.1.0.0/24"]
[outside]
address = "${GW_OUT}"
hosts = { "bobhost" = "${OUT}" }
dns = false
[directory]
alice = "alice@${IN}"
bob = "bob@${OUT}"
[[policy]]
action = "allow"
[admin]
listen = "off"
[middlebox]
pcp = "${MB_IN}"
`;

describe('gateway over PCP: the call\u2019s hole opened on a remote talkgate middlebox', { skip, timeout: 120_000 }, () => {
  let lab: Lab;
  let alice: Terminal;
  let bob: Terminal;
  let mb: LabProcess | undefined;
  let gw: LabProcess | undefined;
  const t0 = Date.now();

  async function startMiddlebox(agents: string[]): Promise<void> {
    const path = join(lab.hostDir('mb'), 'middlebox.toml');
    writeFileSync(path, middleboxConfig(agents), { mode: 0o644 });
    mb = lab.spawn('mb', talkgateArgv('middlebox', '--config', path, '--nft', 'exec'));
    await waitUntil('middlebox listening', () => (mb?.stderr ?? '').includes('listening on'), 10_000, 50);
  }

  async function tcpConnects(host: string, addr: string, port: number): Promise<boolean> {
    const r = await lab.exec(host, ['socat', '-u', 'OPEN:/dev/null', `TCP:${addr}:${port},connect-timeout=2`], { check: false, timeoutMs: 6_000 });
    return r.code === 0;
  }

  /** Elements of one of the middlebox's sets/maps as text lines. */
  async function elements(set: string, kind: 'set' | 'map' = 'set'): Promise<string> {
    const r = await lab.exec('mb', ['nft', 'list', kind, 'ip', TABLE, set], { check: false });
    return r.stdout;
  }

  async function hangUp(...ts: Terminal[]): Promise<void> {
    for (const t of ts) {
      await t.key('C-c');
      await t.backToPrompt();
    }
  }

  function logs(): string {
    return `--- gateway ---\n${gw?.stdout.slice(-4000) ?? ''}${gw?.stderr.slice(-2000) ?? ''}\n--- middlebox ---\n${mb?.stderr.slice(-3000) ?? ''}`;
  }

  before(async () => {
    lab = await Lab.create({
      prefix: 'tgpc',
      hosts: ['gw', 'in', 'mb', 'out', 'out2'],
      segments: [
        { name: 'inside', members: [{ host: 'gw', addr: `${GW_IN}/24` }, { host: 'in', addr: `${IN}/24` }, { host: 'mb', addr: `${MB_IN}/24` }] },
        { name: 'outside', members: [{ host: 'gw', addr: `${GW_OUT}/24` }, { host: 'mb', addr: `${MB_OUT}/24` }, { host: 'out', addr: `${OUT}/24` }, { host: 'out2', addr: `${OUT2}/24` }] },
      ],
      routes: [
        { host: 'in', to: 'default', via: MB_IN },
        { host: 'out', to: 'default', via: MB_OUT },
        { host: 'out2', to: 'default', via: MB_OUT },
      ],
      forwarding: ['mb'],
    });
    const daemons = new TalkdControl(lab);
    await daemons.use('in', { kind: 'netkit' });
    await daemons.use('out', { kind: 'netkit' });
    alice = await lab.login('in', 'alice');
    bob = await lab.login('out', 'bob');
    await startMiddlebox([GW_IN]);
    const path = join(lab.hostDir('gw'), 'gateway.toml');
    writeFileSync(path, GATEWAY_CONFIG, { mode: 0o644 });
    gw = lab.spawn('gw', talkgateArgv('gateway', '--config', path, '--log-level', 'debug'));
    await lab.waitUdpListen('gw', 518, gw);
    await waitUntil('gateway on the outside face', async () => (await lab.exec('gw', ['ss', '-H', '-uln', 'sport = :518'], { check: false })).stdout.includes(`${GW_OUT}:518`), 10_000, 50);
  });

  after(async () => {
    if (process.env['TG_LAB_SHOW_LOG'] === '1') process.stderr.write(`${logs()}\n`);
    await gw?.kill();
    await mb?.kill();
    await lab?.destroy();
    process.stderr.write(`pcp gateway lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  test('outbound call alice → bob: hole for bob only on the middlebox, conversation through it, hole deleted at gateway exit', async () => {
    assert.equal(await tcpConnects('out', IN, 22), false, 'the middlebox forwards nothing inbound by default');
    const bMark = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${GW_IN}`);
    let respondWith = '';
    try {
      const announced = await bob.waitForOutput(RESPOND_RE, bMark, T).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\n${logs()}`);
      });
      respondWith = respondWithOf(announced);
      // The hole: bob . alice . tcp . port in open4, DNATed from the middlebox's outside address.
      const open4 = await elements('open4');
      const m = new RegExp(`${OUT.replace(/\./g, '\\.')} \\. ${IN.replace(/\./g, '\\.')} \\. tcp \\. (\\d+)`).exec(open4);
      assert.ok(m !== null, `no hole for bob to alice:\n${open4}\n${logs()}`);
      const port = Number(m[1]);
      assert.match(await elements('dnat4port', 'map'), new RegExp(`${OUT.replace(/\./g, '\\.')} \\. tcp \\. ${port} .*: ${port}`));
      assert.equal(await tcpConnects('out2', MB_OUT, port), false, 'out2 cannot use bob\u2019s hole');

      await bob.type(`${NETKIT_TALK} ${respondWith}`);
      await bob.waitFor(/Connection established/, T);
      await alice.waitFor(/Connection established/, T);
      // The conversation crosses the middlebox, not the gateway.
      assert.equal((await lab.exec('gw', ['ss', '-H', '-tan'])).stdout.trim(), '', 'TCP sockets in the gateway host');
      await exchangeTaggedLines(alice, bob, T);
      await hangUp(alice, bob);
      // Gateway exit deletes its holes on the middlebox (PCP delete with the nonce).
      await gw?.kill();
      await waitUntil('hole deleted', async () => !(await elements('open4')).includes(`${OUT} . ${IN}`), 5_000, 100);
    } finally {
      await hangUp(alice, bob);
    }
  });

  test('the middlebox refuses the agent: the call is refused before bob is rung', async () => {
    await gw?.kill();
    await mb?.kill();
    await startMiddlebox([]); // the gateway is no longer an authorised THIRD_PARTY agent
    const path = join(lab.hostDir('gw'), 'gateway.toml');
    gw = lab.spawn('gw', talkgateArgv('gateway', '--config', path, '--log-level', 'debug'));
    await lab.waitUdpListen('gw', 518, gw);
    const bMark = bob.mark();
    await alice.type(`${NETKIT_TALK} bob@${GW_IN}`);
    try {
      await waitUntil('refusal logged', () => `${gw?.stdout ?? ''}${gw?.stderr ?? ''}`.includes('PCP NOT_AUTHORIZED'), 10_000, 100).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\n${logs()}`);
      });
      await sleep(1500);
      await assert.rejects(bob.waitForOutput(RESPOND_RE, bMark, 500), 'bob was rung without a hole');
      assert.doesNotMatch(await elements('open4'), /elements/, 'no hole');
    } finally {
      await hangUp(alice);
    }
  });
});
