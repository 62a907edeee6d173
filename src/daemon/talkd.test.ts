import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, readSync, statSync, chmodSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeNtalkCtlResponse,
  decodeOtalkCtlResponse,
  encodeNtalkCtlMsg,
  encodeOtalkCtlMsg,
  sockAddr,
  type NtalkCtlMsg,
  type OtalkCtlMsg,
} from '../protocol/index.js';
import { Answer, RequestType } from '../protocol/talk-types.js';
import { systemClock } from '../shared/clock.js';
import { createLogger } from '../observability/logger.js';
import { NodeDatagramEndpoint } from '../native/node-datagram-endpoint.js';
import { openPty } from '../native/pty.js';
import { TalkdService } from './talkd.js';
import { collectingSink } from './testing/log-sink.js';
import { exchange, udpClient } from './testing/udp-client.js';
import { lookUpUser } from './utmp.js';
import { encodeUtmpRecord } from './utmp-record.js';
import { USER_PROCESS } from './user-lookup.js';
import { writeToTty } from './tty-writer.js';

async function startDaemon(utmpPath: string): Promise<{ service: TalkdService; ntalk: number; otalk: number; logs: string[] }> {
  const logs: string[] = [];
  const sink = collectingSink(logs);
  const service = new TalkdService({
    clock: systemClock,
    logger: createLogger({ name: 'talkd-test', format: 'json', level: 'debug', destination: sink }),
    daemonHost: 'testhost',
    maxInvitations: 64,
    ratePerSecond: 1000,
    rateBurst: 1000,
    isLocalAddress: (a) => a.startsWith('127.'),
    lookUpUser: (name, tty) => lookUpUser({ utmpPath, devDir: '/dev' }, name, tty),
    resolveCallerHost: async (a) => a,
    writeTty: (tty, text) => writeToTty(tty, text, { devDir: '/dev', timeoutMs: 2000 }),
  });
  const n = await NodeDatagramEndpoint.bind('127.0.0.1', 0);
  const o = await NodeDatagramEndpoint.bind('127.0.0.1', 0);
  service.attach(n, 'ntalk');
  service.attach(o, 'otalk');
  return { service, ntalk: n.localAddress().port, otalk: o.localAddress().port, logs };
}

test('talkd service answers the classic rendezvous over loopback, to the packet source only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'talkgate-talkd-'));
  const pty = openPty();
  const line = pty.slavePath.slice('/dev/'.length);
  if ((statSync(pty.slavePath).mode & 0o020) === 0) chmodSync(pty.slavePath, 0o620);
  const utmp = join(dir, 'utmp');
  await writeFile(utmp, encodeUtmpRecord({ type: USER_PROCESS, pid: process.pid, line, user: 'bob', host: '', loginTime: 1 }));
  const d = await startDaemon(utmp);
  const s = await udpClient();
  const other = await udpClient();
  try {
    const me = sockAddr('127.0.0.1', s.address().port);
    const base: NtalkCtlMsg = {
      version: 1, type: RequestType.LOOK_UP, id: 0, addr: sockAddr('127.0.0.1', 44111), ctlAddr: me,
      pid: 4553, lName: 'bob', rName: 'alice', rTty: '',
    };
    const ask = async (m: Partial<NtalkCtlMsg>, sock = s): Promise<ReturnType<typeof decodeNtalkCtlResponse>> => {
      const reply = await exchange(sock, encodeNtalkCtlMsg({ ...base, ...m }), d.ntalk);
      assert.ok(reply, 'a reply arrives');
      return decodeNtalkCtlResponse(reply);
    };
    assert.equal((await ask({})).answer, Answer.NOT_HERE);
    const leave = await ask({ type: RequestType.LEAVE_INVITE, lName: 'alice', rName: 'bob', id: 0xffffffff });
    assert.equal(leave.answer, Answer.SUCCESS);
    assert.ok(leave.id > 0);
    const found = await ask({});
    assert.deepEqual([found.answer, found.id, found.addr.port, found.addr.address], [Answer.SUCCESS, leave.id, 44111, '127.0.0.1']);

    // A LOOK_UP whose ctl_addr names another socket is answered to the source; the other gets nothing.
    const theirs = sockAddr('127.0.0.1', other.address().port);
    let leaked = false;
    other.on('message', () => (leaked = true));
    assert.equal((await ask({ ctlAddr: theirs })).answer, Answer.SUCCESS);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(leaked, false);

    // Malformed datagrams are dropped and the daemon keeps answering.
    assert.equal(await exchange(s, new Uint8Array(83), d.ntalk, 300), undefined);
    assert.equal(await exchange(s, new Uint8Array(0), d.otalk, 300), undefined);
    assert.equal(d.service.counters.malformed, 2);
    assert.equal((await ask({ version: 7 })).answer, Answer.BADVERSION);

    assert.equal((await ask({ type: RequestType.DELETE, id: leave.id })).answer, Answer.SUCCESS);
    assert.equal((await ask({})).answer, Answer.NOT_HERE);

    // ANNOUNCE to bob, logged in on a real pty: the announcement arrives with no escape byte.
    const ann = await ask({ type: RequestType.ANNOUNCE, id: 0xffffffff, lName: 'ev\x1b[2Jl', rName: 'bob' });
    assert.equal(ann.answer, Answer.SUCCESS);
    const buf = Buffer.alloc(4096);
    const n = readSync(pty.masterFd, buf, 0, buf.length, null);
    const text = buf.subarray(0, n).toString('latin1');
    assert.match(text, /Message from Talk_Daemon@testhost at \d+:\d\d \.\.\./);
    assert.match(text, /talk: respond with: {2}talk ev\^\[\[2Jl@127\.0\.0\.1/);
    assert.ok(!text.includes('\x1b'));
    assert.equal((await ask({ type: RequestType.ANNOUNCE, rName: 'carol' })).answer, Answer.NOT_HERE);
    assert.ok(d.logs.some((l) => l.includes('"reqId":"ntalk-') && l.includes('"answer":"NOT_HERE"')));
  } finally {
    s.close();
    other.close();
    await d.service.close();
    closeSync(pty.masterFd);
    await rm(dir, { recursive: true, force: true });
  }
});

test('talkd service answers otalk requests in the byte order they were sent in', async () => {
  const d = await startDaemon('/nonexistent/utmp');
  const s = await udpClient();
  try {
    for (const byteOrder of ['big', 'little'] as const) {
      const m: OtalkCtlMsg = {
        byteOrder, type: RequestType.LEAVE_INVITE, id: 0xffffffff, addr: sockAddr('127.0.0.1', 3000),
        ctlAddr: sockAddr('127.0.0.1', s.address().port), pid: 77, lName: `a${byteOrder[0]}`, rName: 'b', rTty: '',
      };
      const reply = await exchange(s, encodeOtalkCtlMsg(m), d.otalk);
      assert.ok(reply);
      assert.equal(reply.length, 24);
      const r = decodeOtalkCtlResponse(reply, byteOrder);
      assert.equal(r.answer, Answer.SUCCESS);
      assert.ok(r.id > 0 && r.id < 16000, `id ${r.id} readable in ${byteOrder} order`);
      const look = await exchange(s, encodeOtalkCtlMsg({ ...m, type: RequestType.LOOK_UP, lName: 'b', rName: m.lName }), d.otalk);
      assert.ok(look);
      const lr = decodeOtalkCtlResponse(look, byteOrder);
      assert.deepEqual([lr.answer, lr.id, lr.addr.port], [Answer.SUCCESS, r.id, 3000]);
    }
    // An otalk message sent to the ntalk port is understood too (netkit does the same).
    const m: OtalkCtlMsg = {
      byteOrder: 'little', type: RequestType.LOOK_UP, id: 0, addr: sockAddr('127.0.0.1', 0),
      ctlAddr: sockAddr('127.0.0.1', s.address().port), pid: 1, lName: 'x', rName: 'y', rTty: '',
    };
    const reply = await exchange(s, encodeOtalkCtlMsg(m), d.ntalk);
    assert.ok(reply);
    assert.equal(decodeOtalkCtlResponse(reply, 'little').answer, Answer.NOT_HERE);
  } finally {
    s.close();
    await d.service.close();
  }
});
