/**
 * Issue 2 §4: `talkgate talkd` against the real Debian talk programs, in one threeHosts lab
 * (in: alice, out: bob, out2: third host). Every case sets the daemons it needs.
 *
 * TG_LAB_TALKD_UNDER_TEST=netkit runs the same cases with netkit talkd in talkgate's place (to check
 * the harness and the expectations against the reference daemon).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { labSkip } from './prereq.js';
import { threeHosts, IN_ADDR, OUT_ADDR, OUT2_ADDR, OUTSIDE_IF } from './topologies.js';
import { talkCall } from './talk-call.js';
import { TalkdControl, type DaemonChoice } from './talkd-control.js';
import { udpProbe } from './udp-probe.js';
import { NETKIT_TALK } from './peers.js';
import type { Lab } from './lab.js';
import type { Terminal } from './terminal.js';
import {
  Answer,
  RequestType,
  NTALK_PORT,
  OTALK_PORT,
  TALK_VERSION,
  IMPOSSIBLE_ID,
  decodeNtalkCtlResponse,
  decodeOtalkCtlResponse,
  encodeNtalkCtlMsg,
  encodeOtalkCtlMsg,
  sockAddr,
  type ByteOrder,
} from '../../src/protocol/index.js';

const skip = labSkip();
const underTest = process.env['TG_LAB_TALKD_UNDER_TEST'] === 'netkit' ? 'netkit' : 'talkgate';
const SUT_STANDALONE: DaemonChoice = underTest === 'talkgate' ? { kind: 'talkgate', mode: 'standalone' } : { kind: 'netkit' };
const SUT_INETD: DaemonChoice = underTest === 'talkgate' ? { kind: 'talkgate', mode: 'inetd' } : { kind: 'netkit' };
const NETKIT: DaemonChoice = { kind: 'netkit' };
/** The 35 s answer delay of issue 2 §4 (> RING_WAIT 30 s). */
const ANSWER_DELAY_MS = 35_000;

describe(`talkd against real peers (${underTest} talkd under test)`, { skip, timeout: 240_000 }, () => {
  let lab: Lab;
  let daemons: TalkdControl;
  let alice: Terminal;
  let bob: Terminal;
  const t0 = Date.now();

  before(async () => {
    lab = await threeHosts('tgr', { out2: true });
    daemons = new TalkdControl(lab);
    alice = await lab.login('in', 'alice');
    bob = await lab.login('out', 'bob');
    await daemons.use('in', NETKIT);
    await daemons.use('out', SUT_STANDALONE);
  });
  after(async () => {
    if (underTest === 'talkgate' && process.env['TG_LAB_SHOW_LOG'] === '1') {
      process.stderr.write(`--- talkgate log on out ---\n${daemons?.log('out') ?? ''}\n`);
    }
    await lab?.destroy();
    process.stderr.write(`talkd real-peer lab: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  const callee = (): string => `bob@${OUT_ADDR}`;
  const expectedRespond = (): string[] => [`alice@${lab.hostname('in')}`, `alice@${IN_ADDR}`];

  test('netkit talk calls bob, whose daemon is the one under test (standalone); bob answers with netkit talk', async () => {
    await daemons.use('out', SUT_STANDALONE);
    const r = await talkCall({ caller: alice, callee: bob, target: callee() });
    assert.ok(expectedRespond().includes(r.respondWith), `respond with ${r.respondWith}`);
    report('netkit clients, netkit talkd -> standalone', r);
  });

  test('the same with the inetutils talk client on both sides', async () => {
    const r = await talkCall({ caller: alice, callee: bob, target: callee(), callerClient: 'inetutils', calleeClient: 'inetutils' });
    assert.ok(expectedRespond().includes(r.respondWith), `respond with ${r.respondWith}`);
    report('inetutils clients -> standalone', r);
  });

  test('NOT_HERE and mesg n reach the real client as its messages', async () => {
    for (const client of [NETKIT_TALK, '/usr/bin/inetutils-talk']) {
      let m = alice.mark();
      await alice.type(`${client} carol@${OUT_ADDR}`);
      await alice.waitForOutput(/Your party is not logged on/, m, 10_000);
      assert.ok(await alice.backToPrompt());
      await bob.mesg('n');
      try {
        m = alice.mark();
        await alice.type(`${client} ${callee()}`);
        await alice.waitForOutput(/Your party is refusing messages/, m, 10_000);
        assert.ok(await alice.backToPrompt());
      } finally {
        await bob.mesg('y');
      }
    }
  });

  for (const order of ['big', 'little'] as const) {
    const netkitQuirk = underTest === 'netkit' && order === 'little' ? 'netkit in.talkd answers otalk in big-endian order only' : false;
    test(`crafted otalk requests in ${order}-endian order get otalk answers in that order`, { skip: netkitQuirk }, async () => {
      await otalkExchange(order);
    });
  }

  async function otalkExchange(order: ByteOrder): Promise<void> {
    const ctlPort = order === 'big' ? 40517 : 40518;
    const msg = (type: number, rName: string, id = 0): Uint8Array =>
      encodeOtalkCtlMsg({
        byteOrder: order,
        type,
        id,
        addr: sockAddr(IN_ADDR, 40999),
        ctlAddr: sockAddr(IN_ADDR, ctlPort),
        pid: 4242,
        lName: 'alice',
        rName,
        rTty: '',
      });
    // LOOK_UP for an invitation nobody left -> NOT_HERE; ANNOUNCE to carol (not logged in) -> NOT_HERE;
    // ANNOUNCE to bob -> SUCCESS with a fresh id, and the announcement on bob's terminal.
    const m = bob.mark();
    const res = await udpProbe(lab, 'in', {
      to: OUT_ADDR, port: OTALK_PORT, bindPort: ctlPort, expect: 3, waitMs: 3_000, gapMs: 300,
      payloads: [msg(RequestType.LOOK_UP, 'bob'), msg(RequestType.ANNOUNCE, 'carol'), msg(RequestType.ANNOUNCE, 'bob')],
    });
    assert.equal(res.replies.length, 3, `replies: ${JSON.stringify(res.replies)}`);
    for (const r of res.replies) {
      assert.equal(r.from, OUT_ADDR);
      assert.equal(r.fromPort, OTALK_PORT);
      assert.ok(r.bytes.length === 24 || r.bytes.length === 22, `otalk response length ${r.bytes.length}`);
    }
    const [look, annCarol, annBob] = res.replies.map((r) => decodeOtalkCtlResponse(r.bytes, order));
    assert.equal(look?.type, RequestType.LOOK_UP);
    assert.equal(look?.answer, Answer.NOT_HERE);
    assert.equal(annCarol?.type, RequestType.ANNOUNCE);
    assert.equal(annCarol?.answer, Answer.NOT_HERE);
    assert.equal(annBob?.type, RequestType.ANNOUNCE);
    assert.equal(annBob?.answer, Answer.SUCCESS);
    // a sane id in the sender's order: reading it in the other order would give a huge number
    assert.ok(annBob !== undefined && annBob.id > 0 && annBob.id < 16_000, `id ${annBob?.id} in ${order}`);
    await bob.waitForOutput(/connection requested by alice@/, m, 5_000);
    // clean the invitation up so later cases start from an empty table
    await udpProbe(lab, 'in', {
      to: OUT_ADDR, port: OTALK_PORT, bindPort: ctlPort, expect: 1, waitMs: 2_000,
      payloads: [msg(RequestType.DELETE, 'bob', annBob.id)],
    });
  }

  test('a LOOK_UP whose ctl_addr names a third host is answered to the sender only', async () => {
    const cap = await lab.capture('out2', OUTSIDE_IF, ['udp'], 'out2-reflection');
    const thirdPort = 41518;
    const req = encodeNtalkCtlMsg({
      version: TALK_VERSION,
      type: RequestType.LOOK_UP,
      id: 0,
      addr: sockAddr(OUT2_ADDR, 41999),
      ctlAddr: sockAddr(OUT2_ADDR, thirdPort),
      pid: 777,
      lName: 'mallory',
      rName: 'bob',
      rTty: '',
    });
    const res = await udpProbe(lab, 'in', { to: OUT_ADDR, port: NTALK_PORT, payloads: [req, req], expect: 2, waitMs: 2_000 });
    const pcap = await cap.stop();
    const seen = (await lab.exec('out2', ['tcpdump', '-n', '-r', pcap, 'udp'], { check: false })).stdout.trim();
    assert.equal(seen, '', `the third host received:\n${seen}`);
    assert.equal(res.replies.length, 2, 'the sender gets the answers');
    for (const r of res.replies) {
      assert.equal(r.from, OUT_ADDR);
      const d = decodeNtalkCtlResponse(r.bytes);
      assert.equal(d.type, RequestType.LOOK_UP);
      assert.equal(d.answer, Answer.NOT_HERE);
    }
  });

  test('an ANNOUNCE whose caller name holds escape sequences puts no ESC byte on the callee terminal', async () => {
    const m = bob.mark();
    const evil = '\x1b[2J\x1b]0;x'; // clear screen + start of an OSC title sequence (11 bytes)
    const req = encodeNtalkCtlMsg({
      version: TALK_VERSION,
      type: RequestType.ANNOUNCE,
      id: IMPOSSIBLE_ID,
      addr: sockAddr(IN_ADDR, 42999),
      ctlAddr: sockAddr(IN_ADDR, 42518),
      pid: 999,
      lName: evil,
      rName: 'bob',
      rTty: '',
    });
    const res = await udpProbe(lab, 'in', { to: OUT_ADDR, port: NTALK_PORT, bindPort: 42518, payloads: [req], expect: 1, waitMs: 3_000 });
    assert.equal(res.replies.length, 1);
    const ans = decodeNtalkCtlResponse(res.replies[0]?.bytes ?? Buffer.alloc(0));
    if (ans.answer === Answer.SUCCESS) {
      const out = await bob.waitForOutput(/respond with:[^\n]*\n/, m, 5_000);
      const raw = bob.typescriptBytes(m);
      const start = raw.indexOf('Message from');
      const endIdx = raw.indexOf('respond with:', start);
      const end = raw.indexOf('\n', endIdx);
      assert.ok(start >= 0 && endIdx > start && end > endIdx, `announcement not found in:\n${out}`);
      const announcement = raw.subarray(start, end);
      assert.equal(announcement.indexOf(0x1b), -1, `ESC in the announcement: ${JSON.stringify(announcement.toString('latin1'))}`);
      assert.equal(announcement.indexOf(0x07, 0), -1, 'no BEL inside the announcement text');
      // delete it again
      await udpProbe(lab, 'in', {
        to: OUT_ADDR, port: NTALK_PORT, bindPort: 42518, expect: 1, waitMs: 2_000,
        payloads: [encodeNtalkCtlMsg({ version: TALK_VERSION, type: RequestType.DELETE, id: ans.id, addr: sockAddr(IN_ADDR, 42999), ctlAddr: sockAddr(IN_ADDR, 42518), pid: 999, lName: evil, rName: 'bob', rTty: '' })],
      });
    } else {
      // refusing such a caller outright is fine too, as long as nothing reached the terminal
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(bob.typescriptBytes(m).indexOf(0x1b), -1, 'nothing with an ESC reached the terminal');
    }
  });

  test('the daemon under test started by inetd: netkit and inetutils calls', async () => {
    await daemons.use('out', SUT_INETD);
    const r1 = await talkCall({ caller: alice, callee: bob, target: callee() });
    report('netkit clients -> inetd-started', r1);
    const r2 = await talkCall({ caller: alice, callee: bob, target: callee(), callerClient: 'inetutils', calleeClient: 'inetutils' });
    report('inetutils clients -> inetd-started', r2);
  });

  test("the daemon under test on the caller's host, netkit talkd on the callee's", async () => {
    await daemons.use('out', NETKIT);
    await daemons.use('in', SUT_STANDALONE);
    const r = await talkCall({ caller: alice, callee: bob, target: callee() });
    assert.equal(r.respondWith, `alice@${IN_ADDR}`, 'netkit talkd announces the caller by address');
    report('netkit clients, caller-side standalone -> netkit talkd', r);
  });

  test('the callee answers after 35 s: the re-announce works and the call connects', async () => {
    await daemons.use('out', SUT_STANDALONE);
    const m = alice.mark();
    const mb = bob.mark();
    const r = await talkCall({ caller: alice, callee: bob, target: callee(), answerDelayMs: ANSWER_DELAY_MS, timeoutMs: 15_000 });
    assert.match(alice.typescript(m), /Ringing your party again/);
    // the re-announce reached bob's terminal a second time
    const announcements = bob.typescript(mb).match(/connection requested by alice@/g) ?? [];
    assert.ok(announcements.length >= 2, `bob saw ${announcements.length} announcement(s)`);
    report('35 s answer delay (both daemons under test)', r);
  });

  function report(what: string, r: { announceMs: number; connectMs: number; textMs: number }): void {
    process.stderr.write(`${what}: announce ${r.announceMs} ms, connect ${r.connectMs} ms, text ${r.textMs} ms\n`);
  }
});
