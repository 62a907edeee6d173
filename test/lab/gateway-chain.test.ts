/**
 * Issue 15 acceptance: chained gateways. Two organisations, both 10.9.0.0/24 with the same host
 * addresses (chain-topology.ts), each behind its own talkgate; forward policy drop on both; real
 * netkit clients and daemons on every host. alice (a1 10.9.0.2, org 1) and bob (a2 10.9.0.2, org 2)
 * call each other in both directions for every mode pair. One capture on the transit bridge runs
 * over the whole file and is checked last: no 10.9.0.x anywhere in it, and (the gateways being
 * TLS peers) none of the typed words.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from './prereq.js';
import { chainLab, GW1_NAME, GW1_TRANSIT, GW2_NAME, GW2_TRANSIT, IN1_IF, IN2_IF, ORG_GW_ADDR, ORG_HOST_ADDR, ORG_NET, TRANSIT_IF, X_TRANSIT } from './chain-topology.js';
import { talkCall, type CallResult } from './talk-call.js';
import { TalkdControl } from './talkd-control.js';
import { talkgateArgv } from './peers.js';
import { waitUntil } from './proc.js';
import { readPcap, ipPackets, type PcapIp } from './pcap-reader.js';
import type { Capture, Lab, LabProcess } from './lab.js';
import type { Terminal } from './terminal.js';
import { NTALK_PORT } from '../../src/protocol/index.js';

const skip = labSkip();
const PREFIX = 'tgch';
/** 10.9.0 as it would appear in raw bytes. */
const ORG_PREFIX = Buffer.from([10, 9, 0]);

type GwMode = 'classical' | 'pinhole';

interface GwSpec {
  readonly host: 'gw1' | 'gw2';
  readonly mode: GwMode;
  readonly transit: string;
  readonly peerName: string;
  readonly peerAddr: string;
  /** The local user and the directory entry naming them. */
  readonly user: string;
}

function gatewayToml(g: GwSpec, auditFile: string): string {
  const common = `[inside]
address = "${ORG_GW_ADDR}"
interface = "${g.host === 'gw1' ? IN1_IF : IN2_IF}"
networks = ["${ORG_NET}"]
[outside]
address = "${g.transit}"
interface = "${TRANSIT_IF}"
hosts = { "${g.peerName}" = "${g.peerAddr}" }
dns = false
[directory]
${g.user} = "${g.user}@${ORG_HOST_ADDR}"
[[policy]]
action = "allow"
direction = "any"
[audit]
file = "${auditFile}"
[admin]
listen = "off"
[privileges]
user = "nobody"
group = "nogroup"
`;
  if (g.mode === 'classical') return `mode = "classical"\n${common}[relay]\nports = "41000-41049"\n`;
  return `mode = "pinhole"\n${common}[transparent]\ntable = "${PREFIX}_intercept"\n[pinhole]\ntable = "${PREFIX}_pinhole"\nports = "41000-41049"\nhole_timeout = 20\noutbound = "holes"\n`;
}

describe('chained gateways: two organisations with the same inside numbering, talk through two talkgates', { skip, timeout: 300_000 }, () => {
  let lab: Lab;
  let daemons: TalkdControl;
  let alice: Terminal;
  let bob: Terminal;
  let transitCap: Capture;
  const gws = new Map<string, LabProcess>();
  const typed: string[] = [];
  const t0 = Date.now();

  const auditPath = (host: string): string => join(lab.hostDir(host), 'audit.jsonl');
  const audit = (host: string): Array<Record<string, unknown>> =>
    readFileSync(auditPath(host), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  const stopGateways = async (): Promise<void> => {
    for (const [, p] of gws) await p.kill();
    gws.clear();
  };

  const startGateways = async (modes: readonly [GwMode, GwMode]): Promise<void> => {
    await stopGateways();
    const specs: GwSpec[] = [
      { host: 'gw1', mode: modes[0], transit: GW1_TRANSIT, peerName: GW2_NAME, peerAddr: GW2_TRANSIT, user: 'alice' },
      { host: 'gw2', mode: modes[1], transit: GW2_TRANSIT, peerName: GW1_NAME, peerAddr: GW1_TRANSIT, user: 'bob' },
    ];
    for (const g of specs) {
      const conf = join(lab.hostDir(g.host), 'gateway.toml');
      writeFileSync(conf, gatewayToml(g, auditPath(g.host)), { mode: 0o644 });
      const p = lab.spawn(g.host, talkgateArgv('gateway', '--config', conf, '--log-level', 'debug'));
      gws.set(g.host, p);
      await waitUntil(`gateway on ${g.host}`, () => {
        if (!p.running) throw new Error(`gateway on ${g.host} exited ${JSON.stringify(p.exitStatus)}: ${p.stderr}`);
        return /gateway running/.test(p.stdout + p.stderr);
      }, 15_000, 50);
      await lab.waitUdpListen(g.host, NTALK_PORT, p);
    }
  };

  const report = (what: string, r: CallResult): void => {
    process.stderr.write(`${what}: announce ${r.announceMs} ms, connect ${r.connectMs} ms, text ${r.textMs} ms, respond with ${r.respondWith}\n`);
  };

  before(async () => {
    lab = await chainLab(PREFIX);
    daemons = new TalkdControl(lab);
    await daemons.use('a1', { kind: 'netkit' });
    await daemons.use('a2', { kind: 'netkit' });
    alice = await lab.login('a1', 'alice');
    bob = await lab.login('a2', 'bob');
    transitCap = await lab.capture('gw1', TRANSIT_IF, [], 'transit');
  });
  after(async () => {
    if (process.env['TG_LAB_SHOW_LOG'] === '1') for (const [h, p] of gws) process.stderr.write(`--- ${h} log ---\n${p.stdout}${p.stderr}\n`);
    await stopGateways();
    await lab?.destroy();
    process.stderr.write(`gateway chain lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  for (const modes of [['classical', 'classical']] as const) {
    test(`${modes[0]}–${modes[1]}: alice (org 1, ${ORG_HOST_ADDR}) calls bob%gw2, bob (org 2, ${ORG_HOST_ADDR}) answers with the announced command; then back`, async () => {
      await startGateways(modes);
      const r1 = await talkCall({ caller: alice, callee: bob, target: `bob%${GW2_NAME}@${ORG_GW_ADDR}` });
      report(`${modes.join('-')} org1 -> org2`, r1);
      assert.match(r1.respondWith, new RegExp(`^alice%${GW1_NAME}@`));
      const r2 = await talkCall({ caller: bob, callee: alice, target: `alice%${GW1_NAME}@${ORG_GW_ADDR}` });
      report(`${modes.join('-')} org2 -> org1`, r2);
      assert.match(r2.respondWith, new RegExp(`^bob%${GW2_NAME}@`));
      typed.push('caller-line', 'callee-line');
      for (const h of ['gw1', 'gw2']) {
        const ended = audit(h).filter((x) => x['event'] === 'ended' && x['code'] === 'conversation-ended');
        assert.ok(ended.length >= 2, `${h}: two conversations in its audit log`);
      }
    });
  }

  test('the transit capture holds no 10.9.0.x in any header or payload', async () => {
    const packets: PcapIp[] = ipPackets(readPcap(await transitCap.stop()));
    assert.ok(packets.length > 20, `captured ${packets.length} packets`);
    const bad = packets.filter((p) => p.src.startsWith('10.9.0.') || p.dst.startsWith('10.9.0.') || p.payload.includes(ORG_PREFIX));
    assert.equal(bad.length, 0, `inside numbering on the transit: ${bad.slice(0, 5).map((p) => `${p.src}:${p.sport ?? ''}>${p.dst}:${p.dport ?? ''} ${p.payload.toString('hex')}`).join('\n')}`);
    process.stderr.write(`transit capture: ${packets.length} IPv4 packets (x at ${X_TRANSIT})\n`);
  });
});
