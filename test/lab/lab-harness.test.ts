/**
 * The harness itself, against the reference peers: per-host utmp/ptys/hostname isolation, routing
 * through fw (open and drop), a bridged out2, and a complete netkit-to-netkit call (talk-lab.sh's call).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { labSkip } from './prereq.js';
import { threeHosts, setFwMode, OUT_ADDR, OUT2_ADDR, IN_ADDR, OUTSIDE_IF } from './topologies.js';
import { talkdInetdLines } from './peers.js';
import { talkCall } from './talk-call.js';
import type { Lab } from './lab.js';
import type { Terminal } from './terminal.js';

const skip = labSkip();

describe('lab harness (netkit talk on both sides)', { skip }, () => {
  let lab: Lab;
  let alice: Terminal;
  let bob: Terminal;

  before(async () => {
    lab = await threeHosts('tgl', { out2: true });
    await lab.startInetd('in', talkdInetdLines('netkit'));
    await lab.startInetd('out', talkdInetdLines('netkit'));
    alice = await lab.login('in', 'alice');
    bob = await lab.login('out', 'bob');
  });
  after(async () => {
    await lab?.destroy();
  });

  test('each host has its own hostname, utmp and ptys', async () => {
    assert.equal((await lab.exec('in', ['hostname'])).stdout.trim(), 'tgl-in');
    const whoIn = (await lab.exec('in', ['who'])).stdout;
    const whoOut = (await lab.exec('out', ['who'])).stdout;
    assert.match(whoIn, /^alice\s/m);
    assert.doesNotMatch(whoIn, /^bob\s/m);
    assert.match(whoOut, /^bob\s/m);
    assert.doesNotMatch(whoOut, /^alice\s/m);
    const st = (await lab.exec('out', ['stat', '-c', '%U:%G %a', bob.tty])).stdout.trim();
    assert.equal(st, 'bob:tty 620');
  });

  test('in reaches out and out2 through fw; drop mode stops forwarding', async () => {
    await lab.exec('in', ['ping', '-c1', '-W1', OUT_ADDR], { check: true }).catch(async () => {
      // ping may be absent: fall back to a TCP probe with bash's /dev/tcp towards a closed port (RST = reachable)
      const r = await lab.exec('in', ['bash', '-c', `exec 3<>/dev/tcp/${OUT_ADDR}/9 2>&1; echo connected`], { check: false });
      assert.match(r.stdout + r.stderr, /refused|connected/);
    });
    const viaBridge = await lab.exec('out2', ['bash', '-c', `timeout 2 bash -c 'exec 3<>/dev/tcp/${OUT_ADDR}/9' 2>&1; true`], { check: false });
    assert.match(viaBridge.stdout + viaBridge.stderr, /refused/);
    await setFwMode(lab, 'drop');
    const blocked = await lab.exec('in', ['bash', '-c', `timeout 1 bash -c 'exec 3<>/dev/tcp/${OUT2_ADDR}/9' 2>&1; echo rc=$?`], { check: false });
    assert.match(blocked.stdout, /rc=124/);
    await setFwMode(lab, 'route');
    assert.deepEqual(lab.addrs('fw'), ['10.1.0.1', '198.51.100.1']);
    assert.equal(lab.addr('in'), IN_ADDR);
  });

  test('a capture on fw sees the talk control traffic of a call', async () => {
    const cap = await lab.capture('fw', OUTSIDE_IF, ['udp', 'port', '518']);
    const r = await talkCall({ caller: alice, callee: bob, target: `bob@${OUT_ADDR}` });
    const path = await cap.stop();
    const read = await lab.exec('fw', ['tcpdump', '-n', '-r', path], { check: false });
    assert.match(read.stdout, /198\.51\.100\.2\.518 > 10\.1\.0\.2\.\d+: UDP, length 24/);
    assert.equal(r.respondWith, `alice@${IN_ADDR}`);
    process.stderr.write(`netkit->netkit: announce ${r.announceMs} ms, connect ${r.connectMs} ms, text ${r.textMs} ms\n`);
  });

  test('NOT_HERE and mesg n reach the real client', async () => {
    let m = alice.mark();
    await alice.type(`/usr/bin/netkit-ntalk carol@${OUT_ADDR}`);
    await alice.waitForOutput(/Your party is not logged on/, m, 10_000);
    assert.ok(await alice.backToPrompt());
    await bob.mesg('n');
    m = alice.mark();
    await alice.type(`/usr/bin/netkit-ntalk bob@${OUT_ADDR}`);
    await alice.waitForOutput(/Your party is refusing messages/, m, 10_000);
    assert.ok(await alice.backToPrompt());
    await bob.mesg('y');
  });
});
