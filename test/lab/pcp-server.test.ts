import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labSkip } from './prereq.js';
import { ADDR, ClientDriver, NS, TOPO, canConnect, inNs, labDown, labUp, listen, repoRoot, waitFor } from './pcp-lab.js';
import { decodePcpResponse } from '../../src/pcp/pcp-response.js';

/** A second inside address: the "gateway host" acting as a THIRD_PARTY agent. */
const AGENT = '10.201.0.3';
const TABLE = 'talkgate_pcp';

test('talkgate middlebox: table replaced at start, ANNOUNCE, third-party data path, fuzzing the socket, state loss, cleanup', { skip: labSkip(), timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tgp-'));
  const conf = join(dir, 'mb.toml');
  writeFileSync(
    conf,
    `[inside]\naddress = "${ADDR.boxIn}"\ninterface = "${TOPO.ifs.boxIn}"\nnetworks = ["${TOPO.insideNet}"]\n[outside]\naddress = "${ADDR.boxOut}"\ninterface = "${TOPO.ifs.boxOut}"\n` +
      `[pcp]\nmin_lifetime = 5\nmax_lifetime = 600\nthird_party = ["${AGENT}"]\nmax_per_host = 64\n[firewall]\ntable = "${TABLE}"\n`,
  );
  labUp();
  inNs(NS.inside, ['ip', 'addr', 'add', `${AGENT}/24`, 'dev', TOPO.ifs.inside]);
  // A stale table from "a previous run", with a leftover chain: must not survive the start.
  inNs(NS.box, ['nft', `add table ip ${TABLE}; add chain ip ${TABLE} stale`]);
  const bin = join(repoRoot(), 'bin', 'talkgate.js');
  // ANNOUNCE listener on the client port (RFC 6887 §14.1.3: 224.0.0.1:5350).
  const ann = spawn('ip', ['netns', 'exec', NS.inside, process.execPath, '-e', `const s=require('dgram').createSocket({type:'udp4',reuseAddr:true});s.on('message',(m,r)=>{console.log('ANN '+r.address+' '+m.toString('hex'));process.exit(0)});s.bind(5350,()=>console.log('ready'));setTimeout(()=>process.exit(1),20000)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitFor(ann, /ready/, 5000);
  const mb = spawn('ip', ['netns', 'exec', NS.box, process.execPath, bin, 'middlebox', '--config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let mbLog = '';
  mb.stderr?.on('data', (d: Buffer) => (mbLog = (mbLog + d.toString()).slice(-20_000)));
  const srv = listen(NS.inside, 5555);
  const srv2 = listen(NS.inside, 5557);
  const user = new ClientDriver(NS.inside, ADDR.boxIn, 300, 4, ADDR.inside);
  const agent = new ClientDriver(NS.inside, ADDR.boxIn, 300, 4, AGENT);
  try {
    await waitFor(mb, /listening on/, 15_000);
    await waitFor(srv, /up/, 5000);
    await waitFor(srv2, /up/, 5000);
    const table = inNs(NS.box, ['nft', 'list', 'table', 'ip', TABLE]);
    assert.ok(!table.includes('stale') && table.includes('policy drop'), 'table replaced at start');
    const annLine = await waitFor(ann, /ANN \S+ [0-9a-f]+/, 5000);
    const hexAnn = /ANN (\S+) ([0-9a-f]+)/.exec(annLine);
    assert.equal(hexAnn?.[1], ADDR.boxIn, 'ANNOUNCE from the inside address');
    const a = decodePcpResponse(Uint8Array.from(Buffer.from(hexAnn?.[2] ?? '', 'hex')));
    assert.deepEqual([a.version, a.opcode, a.result], [2, 0, 0], 'unsolicited ANNOUNCE response');
    assert.ok(a.epoch <= 1, 'epoch restarted');

    // The user's own mapping, held by its client (re-created after state loss below).
    const m = await user.call<{ result: string; externalPort: number; epoch: number }>({ op: 'map', internalPort: 5555, suggestedPort: 42000, lifetime: 120 });
    assert.deepEqual([m.result, m.externalPort], ['SUCCESS', 42000]);

    // MIDCOM agent: the hole for a call, on behalf of the inside user, for one outside peer.
    const req = { callId: 'call-1', listenSide: 'outside', listenAddress: ADDR.boxOut, expectedPeer: ADDR.peer, target: { address: ADDR.inside, port: 5557 }, bindAddress: ADDR.boxIn, acceptDeadlineMs: 30_000 };
    const denied = await user.call<{ ok: boolean; detail?: string }>({ op: 'open', request: { ...req, callId: 'call-0', target: { address: AGENT, port: 5555 } } });
    assert.deepEqual([denied.ok, denied.detail], [false, 'PCP NOT_AUTHORIZED'], 'a non-listed agent is refused (before ringing)');
    const t0 = Date.now();
    const hole = await agent.call<{ ok: boolean; address: string; port: number }>({ op: 'open', request: req });
    assert.ok(Date.now() - t0 < 2000);
    assert.deepEqual([hole.ok, hole.address], [true, ADDR.boxOut]);
    assert.equal(hole.port, 5557, 'the suggested (rendezvous) port');
    assert.equal(canConnect(NS.outside, ADDR.other, ADDR.boxOut, hole.port), false, 'another outside host is refused');
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, hole.port), true, 'the expected peer connects');
    await agent.call({ op: 'close', callId: 'call-1' });
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, hole.port), false, 'closed with the call');

    // Fuzz the real socket: mutated valid requests, each answered well-formed or dropped per RFC.
    const f = await user.call<{ sent: number; answered: number; silent: number; bad: number; examples: string[] }>({ op: 'fuzz', n: 400, seed: 7, clientAddress: ADDR.inside }, 60_000);
    t.diagnostic(`fuzz over the socket: ${JSON.stringify(f)}`);
    assert.equal(f.bad, 0, `fuzz: ${JSON.stringify(f)}`);
    assert.ok(f.answered > 250, `most mutated requests answered (${f.answered}/${f.sent})`);
    const alive = await user.call<{ result: string; epoch: number }>({ op: 'announce' });
    assert.equal(alive.result, 'SUCCESS', 'server alive after fuzzing');
    if (alive.epoch < 3) await new Promise((r) => setTimeout(r, (3 - alive.epoch) * 1000));

    // State loss: our table deleted under the server. The next request replaces it, restarts the
    // epoch and succeeds; the client sees the epoch go back and re-creates its mapping.
    inNs(NS.box, ['nft', 'delete', 'table', 'ip', TABLE]);
    const after = await user.call<{ result: string; epoch: number }>({ op: 'map', internalPort: 6000, suggestedPort: 42001, lifetime: 60 });
    assert.equal(after.result, 'SUCCESS');
    assert.ok(after.epoch <= 1, `epoch reset (${after.epoch})`);
    const ev = user.events[0] as { event: string; recreated: { result: string; externalPort: number }[] } | undefined;
    t.diagnostic(`epoch ${alive.epoch} → ${after.epoch}; ${JSON.stringify(ev)}`);
    assert.equal(ev?.event, 'stateLoss');
    assert.ok(ev?.recreated.some((r) => r.result === 'SUCCESS' && r.externalPort === 42000), JSON.stringify(ev));
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, 42000), true, 're-created mapping works');

    mb.kill('SIGTERM');
    await new Promise((res) => mb.once('exit', res));
    assert.throws(() => inNs(NS.box, ['nft', 'list', 'table', 'ip', TABLE]), 'rules removed on exit');
  } catch (e) {
    process.stderr.write(`middlebox log:\n${mbLog.slice(-4000)}\n`);
    throw e;
  } finally {
    user.stop();
    agent.stop();
    ann.kill('SIGKILL');
    mb.kill('SIGKILL');
    srv.kill('SIGKILL');
    srv2.kill('SIGKILL');
    labDown();
    rmSync(dir, { recursive: true, force: true });
  }
});
