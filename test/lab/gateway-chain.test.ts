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
import { chainGatewayToml, chainLab, makeChainCertificates, GW1_NAME, GW1_TRANSIT, GW2_NAME, GW2_TRANSIT, ORG_GW_ADDR, ORG_HOST_ADDR, PEERING_PORT, TRANSIT_IF, X_TRANSIT, type GwMode, type GwSpec } from './chain-topology.js';
import { fwRuleset } from './topologies.js';
import { talkCall, type CallResult } from './talk-call.js';
import { TalkdControl } from './talkd-control.js';
import { talkgateArgv } from './peers.js';
import { sleep, waitUntil } from './proc.js';
import { readPcap, ipPackets, type PcapIp } from './pcap-reader.js';
import type { Capture, Lab, LabProcess } from './lab.js';
import type { Terminal } from './terminal.js';
import { IMPOSSIBLE_ID, NTALK_PORT, RequestType, TALK_VERSION, encodeNtalkCtlMsg, sockAddr } from '../../src/protocol/index.js';
import { udpProbe } from './udp-probe.js';
import { NETKIT_TALK } from './peers.js';

const skip = labSkip();
const PREFIX = 'tgch';
/** 10.9.0 as it would appear in raw bytes. */
const ORG_PREFIX = Buffer.from([10, 9, 0]);

/** From x: a TLS client with the impostor's certificate sends one ANNOUNCE frame to gw2's peering port; prints what happened. */
const IMPOSTOR_JS = `
const tls = require('node:tls'); const fs = require('node:fs');
const [dir, host, port, frame] = process.argv.slice(1);
let out = { secure: false, error: '', data: 0 };
const s = tls.connect({ host, port: Number(port), cert: fs.readFileSync(dir + '/impostor.crt'), key: fs.readFileSync(dir + '/impostor.key'),
  ca: fs.readFileSync(dir + '/ca.crt'), servername: 'gw2', rejectUnauthorized: false, minVersion: 'TLSv1.3' }, () => { out.secure = true; s.write(frame + '\\n'); });
s.on('data', (d) => { out.data += d.length; });
s.on('error', (e) => { out.error = e.code || e.message; });
const done = () => { process.stdout.write(JSON.stringify(out)); process.exit(0); };
s.on('close', done); setTimeout(done, 3000);
`;

describe('chained gateways: two organisations with the same inside numbering, talk through two talkgates', { skip, timeout: 300_000 }, () => {
  let lab: Lab;
  let daemons: TalkdControl;
  let alice: Terminal;
  let bob: Terminal;
  let transitCap: Capture;
  const gws = new Map<string, LabProcess>();
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

  const startGateways = async (modes: readonly [GwMode, GwMode], gw2Cert = 'gw2'): Promise<void> => {
    await stopGateways();
    const c = (f: string): string => join(lab.dir, f);
    const specs: GwSpec[] = [
      { host: 'gw1', mode: modes[0], transit: GW1_TRANSIT, peerName: GW2_NAME, peerAddr: GW2_TRANSIT, user: 'alice', cert: c('gw1.crt'), key: c('gw1.key'), ca: c('ca.crt') },
      { host: 'gw2', mode: modes[1], transit: GW2_TRANSIT, peerName: GW1_NAME, peerAddr: GW1_TRANSIT, user: 'bob', cert: c(`${gw2Cert}.crt`), key: c(`${gw2Cert}.key`), ca: c('ca.crt') },
    ];
    for (const g of specs) {
      // A pinhole gateway owns its firewall (its table: forward policy drop, holes); a classical one forwards nothing.
      await lab.exec(g.host, ['nft', 'delete', 'table', 'inet', `${PREFIX}${g.host}_fw`], { check: false });
      if (g.mode === 'classical') await lab.nft(g.host, fwRuleset(`${PREFIX}${g.host}`, 'drop'));
      const conf = join(lab.hostDir(g.host), 'gateway.toml');
      writeFileSync(conf, chainGatewayToml(g, auditPath(g.host), PREFIX), { mode: 0o644 });
      const p = lab.spawn(g.host, talkgateArgv('gateway', '--config', conf, '--log-level', 'debug'));
      gws.set(g.host, p);
      await waitUntil(`gateway on ${g.host}`, () => {
        if (!p.running) throw new Error(`gateway on ${g.host} exited ${JSON.stringify(p.exitStatus)}: ${p.stderr}`);
        return /gateway running/.test(p.stdout + p.stderr);
      }, 15_000, 50);
      await lab.waitUdpListen(g.host, NTALK_PORT, p);
    }
  };

  /** Waits for a line of a gateway's log (the core's lines are written a little after the datagram). */
  const waitForLog = async (host: string, re: RegExp): Promise<void> => {
    const p = gws.get(host);
    await waitUntil(`${host} log ${re.source}`, () => re.test(`${p?.stdout ?? ''}${p?.stderr ?? ''}`), 5_000, 100).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${p?.stdout.slice(-3000) ?? ''}${p?.stderr.slice(-2000) ?? ''}`);
    });
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
    makeChainCertificates(lab.dir, PREFIX);
    transitCap = await lab.capture('x', TRANSIT_IF, [], 'transit');
  });
  after(async () => {
    if (process.env['TG_LAB_SHOW_LOG'] === '1') for (const [h, p] of gws) process.stderr.write(`--- ${h} log ---\n${p.stdout}${p.stderr}\n`);
    await stopGateways();
    await lab?.destroy();
    process.stderr.write(`gateway chain lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  /** Each gateway's audit log has the call it forwarded with its own id and the peer gateway's. */
  const assertBothIds = (since: { gw1: number; gw2: number }): void => {
    const log = { gw1: audit('gw1').slice(since.gw1), gw2: audit('gw2').slice(since.gw2) };
    // org1 -> org2: gw1's outbound call rang through gw2, whose inbound call names gw1's id; and the reverse.
    for (const [own, peer] of [['gw1', 'gw2'], ['gw2', 'gw1']] as const) {
      const outbound = new Set(log[own].filter((x) => x['event'] === 'requested' && x['direction'] === 'outbound').map((x) => x['callId']));
      const rung = log[own].filter((x) => x['event'] === 'rung' && outbound.has(x['callId']));
      assert.ok(rung.length > 0, `${own} rang an outbound call: ${JSON.stringify(log[own])}`);
      for (const r of rung) {
        const pg = r['peerGateway'] as { name?: string; callId?: string } | undefined;
        assert.equal(pg?.name, peer, `rung record names the peer gateway: ${JSON.stringify(r)}`);
        assert.match(String(pg?.callId), /^c-\d{6}$/);
        const theirs = log[peer].find((x) => x['event'] === 'requested' && x['callId'] === pg?.callId);
        assert.ok(theirs !== undefined, `${peer}'s audit has call ${String(pg?.callId)}`);
        assert.equal((theirs['peerGateway'] as { callId?: string }).callId, r['callId'], "the peer's record names our call id");
      }
    }
  };

  for (const modes of [['classical', 'classical'], ['pinhole', 'pinhole'], ['classical', 'pinhole']] as const) {
    test(`${modes[0]}–${modes[1]}, TLS peers: alice (org 1, ${ORG_HOST_ADDR}) calls bob%gw2, bob (org 2, ${ORG_HOST_ADDR}) answers with the announced command; then back`, async () => {
      await startGateways(modes);
      const since = { gw1: audit('gw1').length, gw2: audit('gw2').length };
      const r1 = await talkCall({ caller: alice, callee: bob, target: `bob%${GW2_NAME}@${ORG_GW_ADDR}` });
      report(`${modes.join('-')} org1 -> org2`, r1);
      assert.match(r1.respondWith, new RegExp(`^alice%${GW1_NAME}@`));
      const r2 = await talkCall({ caller: bob, callee: alice, target: `alice%${GW1_NAME}@${ORG_GW_ADDR}` });
      report(`${modes.join('-')} org2 -> org1`, r2);
      assert.match(r2.respondWith, new RegExp(`^bob%${GW2_NAME}@`));
      await waitUntil('both calls ended on both gateways', () =>
        ['gw1', 'gw2'].every((h) => audit(h).slice(h === 'gw1' ? since.gw1 : since.gw2).filter((x) => x['event'] === 'ended' && x['code'] === 'conversation-ended').length >= 2), 5_000, 100);
      assertBothIds(since);
    });
  }

  test('a UDP control datagram forged from gw1\'s address (x, source NAT) never rings bob: gw2 drops it with a typed reason', async () => {
    await startGateways(['classical', 'classical']);
    // x rewrites the source of its datagrams to gw2's talk port into gw1's address.
    await lab.nft('x', `table ip ${PREFIX}_forge {\n chain post {\n type nat hook postrouting priority 100; policy accept;\n ip daddr ${GW2_TRANSIT} udp dport ${NTALK_PORT} snat to ${GW1_TRANSIT}\n }\n}\n`);
    try {
      const forged = encodeNtalkCtlMsg({
        version: TALK_VERSION, type: RequestType.ANNOUNCE, id: IMPOSSIBLE_ID,
        addr: sockAddr(GW1_TRANSIT, 41999), ctlAddr: sockAddr(GW1_TRANSIT, 43518), pid: 4711,
        lName: 'mallory', rName: 'bob', rTty: '',
      });
      const m = bob.mark();
      await udpProbe(lab, 'x', { to: GW2_TRANSIT, port: NTALK_PORT, bindPort: 43518, payloads: [forged, forged, forged], expect: 1, waitMs: 2_000 });
      await sleep(500);
      assert.doesNotMatch(bob.typescript(m), /Message from|connection requested/, "bob's terminal stayed silent");
      await waitForLog('gw2', /"code":"peer-datagram".*dropped a control datagram from a peer gateway address/);
      assert.ok(!audit('gw2').some((r) => (r['caller'] as { user?: string } | undefined)?.user === 'mallory'), 'no call was requested');
    } finally {
      await lab.exec('x', ['nft', 'delete', 'table', 'ip', `${PREFIX}_forge`], { check: false });
    }
  });

  test('x presenting a certificate of the wrong CA (an impostor "gw1") is refused before a frame is read; nobody is rung', async () => {
    const frame = JSON.stringify({
      t: 'req', protocol: 'ntalk', callId: 'c-000001',
      msg: Buffer.from(encodeNtalkCtlMsg({ version: TALK_VERSION, type: RequestType.ANNOUNCE, id: IMPOSSIBLE_ID, addr: sockAddr(X_TRANSIT, 41999), ctlAddr: sockAddr(X_TRANSIT, 0), pid: 1, lName: 'mallory', rName: 'bob', rTty: '' })).toString('hex'),
    });
    const m = bob.mark();
    const r = await lab.exec('x', [process.execPath, '-e', IMPOSTOR_JS, lab.dir, GW2_TRANSIT, String(PEERING_PORT), frame], { timeoutMs: 10_000 });
    const out = JSON.parse(r.stdout) as { secure: boolean; error: string; data: number };
    await sleep(500);
    assert.equal(out.data, 0, `the impostor got an answer: ${r.stdout}`);
    assert.doesNotMatch(bob.typescript(m), /Message from|connection requested/, "bob's terminal stayed silent");
    await waitForLog('gw2', /"code":"peer-unauthenticated","from":"192\.0\.2\.3:\d+".*peer link refused/);
    assert.ok(!audit('gw2').some((x) => (x['caller'] as { user?: string } | undefined)?.user === 'mallory'), 'no call was requested');
  });

  test('a configured peer failing authentication (gw2 with a certificate of the wrong CA): alice sees a refusal, bob is never rung', async () => {
    await startGateways(['classical', 'classical'], 'bad-gw2');
    const mb = bob.mark();
    const ma = alice.mark();
    await alice.clear();
    await alice.type(`${NETKIT_TALK} bob%${GW2_NAME}@${ORG_GW_ADDR}`);
    await alice.waitForOutput(/too confused|not logged|refusing|failed/i, ma, 10_000);
    assert.ok(await alice.backToPrompt());
    assert.doesNotMatch(bob.typescript(mb), /Message from|connection requested/, "bob's terminal stayed silent");
    const refused = await waitUntil('refused record', () => audit('gw1').filter((x) => x['event'] === 'refused').at(-1), 5_000, 100);
    assert.equal(refused['code'], 'peer-unauthenticated', JSON.stringify(refused));
    assert.ok(!audit('gw1').some((x) => x['event'] === 'rung' && x['callId'] === refused['callId']));
  });

  test('the transit capture of the whole file holds no 10.9.0.x in any header or payload and none of the typed words', async () => {
    const packets: PcapIp[] = ipPackets(readPcap(await transitCap.stop()));
    assert.ok(packets.length > 20, `captured ${packets.length} packets`);
    const bad = packets.filter((p) => p.src.startsWith('10.9.0.') || p.dst.startsWith('10.9.0.') || p.payload.includes(ORG_PREFIX));
    assert.equal(bad.length, 0, `inside numbering on the transit: ${bad.slice(0, 5).map((p) => `${p.src}:${p.sport ?? ''}>${p.dst}:${p.dport ?? ''} ${p.payload.toString('hex')}`).join('\n')}`);
    const words = ['caller-line', 'callee-line', 'second from caller', 'second from callee', 'hello', 'hi there'].map((w) => Buffer.from(w));
    const clear = packets.filter((p) => words.some((w) => p.payload.includes(w)));
    assert.equal(clear.length, 0, `conversation text on the transit: ${clear.slice(0, 3).map((p) => p.payload.toString('latin1')).join(' | ')}`);
    const tls = packets.filter((p) => p.sport === PEERING_PORT || p.dport === PEERING_PORT).length;
    const fromX = packets.filter((p) => p.src === X_TRANSIT).length;
    process.stderr.write(`transit capture: ${packets.length} IPv4 packets, ${tls} on the peering port, ${fromX} from x\n`);
    assert.ok(fromX > 0, "the capture saw x's traffic to gw2 (the bridge capture covers the whole segment)");
  });
});
