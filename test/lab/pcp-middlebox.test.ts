import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { procIdentity } from './privsep-check.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labSkip } from './prereq.js';
import { ADDR, NS, canConnect, inNs, inNsOut, labDown, labUp, listen, repoRoot, waitFor } from './pcp-lab.js';

const skip = labSkip(['/usr/bin/natpmpc']);

test('talkgate middlebox: natpmpc mapping works and dies with deletion; FILTER admits only the listed peer', { skip, timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tgp-'));
  const conf = join(dir, 'mb.toml');
  writeFileSync(conf, `[inside]\naddress = "${ADDR.boxIn}"\ninterface = "tgp-mbi"\nnetworks = ["10.201.0.0/24"]\n[outside]\naddress = "${ADDR.boxOut}"\ninterface = "tgp-mbo"\n[pcp]\nmin_lifetime = 5\nmax_lifetime = 600\n[firewall]\ntable = "talkgate_pcp"\n`);
  labUp();
  const bin = join(repoRoot(), 'bin', 'talkgate.js');
  const mb = spawn('ip', ['netns', 'exec', NS.box, process.execPath, bin, 'middlebox', '--config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = listen(NS.inside, 5555);
  try {
    await waitFor(mb, /listening on/, 15_000);
    await waitFor(srv, /up/, 5000);
    // Privilege separation: the PCP socket belongs to an unprivileged worker, the privileged process holds no inet socket.
    const ss = inNs(NS.box, ['ss', '-H', '-uatnp']);
    const owners = [...new Set([...ss.split('\n').filter((l) => /:5351\s/.test(l)).join(' ').matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
    assert.equal(owners.length, 1, `one owner of udp 5351:\n${ss}`);
    const id = procIdentity(owners[0] as number);
    assert.notEqual(id.uid, 0, 'the PCP parser runs as root');
    assert.equal(id.capEff, '0000000000000000', 'the PCP parser holds capabilities');
    assert.doesNotMatch(ss, new RegExp(`pid=${mb.pid},`), 'the privileged middlebox holds an inet socket');
    assert.ok(inNs(NS.box, ['nft', 'list', 'table', 'ip', 'talkgate_pcp']).includes('policy drop'));
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, 40000), false, 'nothing mapped yet');

    const out = inNs(NS.inside, ['natpmpc', '-g', ADDR.boxIn, '-a', '40000', '5555', 'tcp', '60']);
    assert.match(out, /Mapped public port 40000 protocol TCP to local port 5555/);
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, 40000), true, 'mapping works');
    assert.match(inNs(NS.box, ['nft', 'list', 'map', 'ip', 'talkgate_pcp', 'dnatany4port']), /comment "map-1 10\.201\.0\.2:5555"/);
    inNs(NS.inside, ['natpmpc', '-g', ADDR.boxIn, '-a', '0', '5555', 'tcp', '0']);
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, 40000), false, 'deleted mapping refuses');

    // Expiry: lifetime clamped to min_lifetime 5 s.
    inNs(NS.inside, ['natpmpc', '-g', ADDR.boxIn, '-a', '40001', '5555', 'tcp', '1']);
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, 40001), true);
    await new Promise((r) => setTimeout(r, 6500));
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, 40001), false, 'expired mapping refuses');

    // PCP MAP with FILTER, through talkgate's own client.
    const json = inNs(NS.inside, [process.execPath, bin, 'pcp', 'map', '--server', ADDR.boxIn, '--internal-port', '5555', '--external-port', '40002', '--filter', ADDR.peer, '--prefer-failure', '--lifetime', '60', '--json', '--irt', '500']);
    const r = JSON.parse(json) as { ok: boolean; externalPort: number; externalAddress: string; nonce: string };
    assert.deepEqual([r.ok, r.externalPort, r.externalAddress], [true, 40002, ADDR.boxOut]);
    assert.equal(canConnect(NS.outside, ADDR.other, ADDR.boxOut, 40002), false, 'other outside host refused');
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, 40002), true, 'listed peer admitted');
    // Inside only: the outside address does not answer PCP.
    const fromOutside = JSON.parse(inNsOut(NS.outside, [process.execPath, bin, 'pcp', 'announce', '--server', ADDR.boxOut, '--json', '--irt', '300', '--mrc', '2'])) as { ok: boolean; error?: string };
    assert.equal(fromOutside.ok, false);
    assert.match(fromOutside.error ?? '', /no PCP answer/);
    // The other CLI verbs: ANNOUNCE answers with the epoch; PEER is answered UNSUPP_OPCODE (no PEER here).
    const ann = JSON.parse(inNs(NS.inside, [process.execPath, bin, 'pcp', 'announce', '--server', ADDR.boxIn, '--json', '--irt', '500'])) as { result: string; epoch: number };
    assert.equal(ann.result, 'SUCCESS');
    const peer = JSON.parse(inNsOut(NS.inside, [process.execPath, bin, 'pcp', 'peer', '--server', ADDR.boxIn, '--internal-port', '5555', '--remote', ADDR.peer, '--remote-port', '80', '--json', '--irt', '500'])) as { result: string };
    assert.equal(peer.result, 'UNSUPP_OPCODE');
    // PREFER_FAILURE on a taken port: refused, no substitute.
    const taken = JSON.parse(inNsOut(NS.inside, [process.execPath, bin, 'pcp', 'map', '--server', ADDR.boxIn, '--internal-port', '6000', '--external-port', '40002', '--prefer-failure', '--json', '--irt', '500'])) as { result: string };
    assert.equal(taken.result, 'CANNOT_PROVIDE_EXTERNAL');
    // Delete with a wrong nonce is refused; with the right one it works.
    const wrong = JSON.parse(inNsOut(NS.inside, [process.execPath, bin, 'pcp', 'delete', '--server', ADDR.boxIn, '--internal-port', '5555', '--nonce', '00'.repeat(12), '--json', '--irt', '500'])) as { result: string };
    assert.equal(wrong.result, 'NOT_AUTHORIZED');
    const del = JSON.parse(inNs(NS.inside, [process.execPath, bin, 'pcp', 'delete', '--server', ADDR.boxIn, '--internal-port', '5555', '--nonce', r.nonce, '--json', '--irt', '500'])) as { ok: boolean };
    assert.equal(del.ok, true);
    assert.equal(canConnect(NS.outside, ADDR.peer, ADDR.boxOut, 40002), false);

    mb.kill('SIGTERM');
    await new Promise((res) => mb.once('exit', res));
    assert.throws(() => inNs(NS.box, ['nft', 'list', 'table', 'ip', 'talkgate_pcp']), 'rules removed on exit');
  } finally {
    mb.kill('SIGKILL');
    srv.kill('SIGKILL');
    labDown();
    rmSync(dir, { recursive: true, force: true });
  }
});
