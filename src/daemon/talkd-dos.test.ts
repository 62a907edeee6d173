/**
 * TalkdService under denial-of-service pressure over real loopback sockets (issue 18): the fair
 * share of the invitation table per source, aggregated logging of malformed floods, the refusal
 * of an unusable caller name, and the typed PERMISSION_DENIED reason (issue 13). Linux routes
 * all of 127/8 to lo, so the attackers bind 127.0.0.x / 127.0.1.x without root. Every flood is
 * bounded in count and time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { decodeNtalkCtlResponse, encodeNtalkCtlMsg, sockAddr, type NtalkCtlMsg } from '../protocol/index.js';
import { Answer, RequestType } from '../protocol/talk-types.js';
import { systemClock } from '../shared/clock.js';
import { createLogger } from '../observability/logger.js';
import { NodeDatagramEndpoint } from '../native/node-datagram-endpoint.js';
import { DEFAULT_MAX_INVITATIONS, DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND } from './daemon-limits.js';
import { TalkdService, type TalkdDeps } from './talkd.js';
import { collectingSink } from './testing/log-sink.js';
import { exchange, udpClient } from './testing/udp-client.js';
import type { TtyWriteOutcome } from './tty-writer.js';
import type { UserLookup } from './user-lookup.js';

interface Daemon {
  service: TalkdService;
  port: number;
  chunks: string[];
  ttyWrites: string[];
}

async function startDaemon(over: Partial<TalkdDeps> & { level?: string } = {}): Promise<Daemon> {
  const chunks: string[] = [];
  const ttyWrites: string[] = [];
  const service = new TalkdService({
    clock: systemClock,
    logger: createLogger({ name: 'talkd-test', format: 'json', level: over.level ?? 'info', destination: collectingSink(chunks) }),
    daemonHost: 'testhost',
    maxInvitations: DEFAULT_MAX_INVITATIONS,
    ratePerSecond: 1_000_000,
    rateBurst: 1_000_000,
    isLocalAddress: (a) => a.startsWith('127.'),
    lookUpUser: async (): Promise<UserLookup> => ({ kind: 'found', tty: 'pts/7' }),
    resolveCallerHost: async (a) => a,
    writeTty: async (tty): Promise<TtyWriteOutcome> => {
      ttyWrites.push(tty);
      return { answer: Answer.SUCCESS };
    },
    ...over,
  });
  const n = await NodeDatagramEndpoint.bind('127.0.0.1', 0);
  service.attach(n, 'ntalk');
  return { service, port: n.localAddress().port, chunks, ttyWrites };
}

function request(s: Socket, over: Partial<NtalkCtlMsg>): NtalkCtlMsg {
  return {
    version: 1, type: RequestType.LOOK_UP, id: 0xffffffff, addr: sockAddr(s.address().address, 4000),
    ctlAddr: sockAddr(s.address().address, s.address().port), pid: 7, lName: 'alice', rName: 'bob', rTty: '', ...over,
  };
}

function lines(d: Daemon): Array<Record<string, unknown>> {
  return d.chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function answerOf(s: Socket, msg: NtalkCtlMsg, port: number): Promise<number | undefined> {
  const r = await exchange(s, encodeNtalkCtlMsg(msg), port);
  return r === undefined ? undefined : decodeNtalkCtlResponse(r).answer;
}

test('talkd: 2,000 LEAVE_INVITEs from 8 loopback addresses leave room; a genuine ANNOUNCE and LEAVE_INVITE succeed at once', async () => {
  const d = await startDaemon();
  const attackers = await Promise.all(Array.from({ length: 8 }, (_, i) => udpClient(`127.0.0.${i + 2}`)));
  const caller = await udpClient('127.0.0.20');
  const local = await udpClient('127.0.0.21');
  try {
    const deadline = Date.now() + 30_000;
    const answered = await Promise.all(
      attackers.map(async (s, a) => {
        let ok = 0;
        for (let i = 0; i < 250 && Date.now() < deadline; i++) {
          const ans = await answerOf(s, request(s, { type: RequestType.LEAVE_INVITE, lName: `x${a}-${i}`, rName: `v${i}`, pid: i }), d.port);
          if (ans !== undefined) ok++;
        }
        return ok;
      }),
    );
    assert.ok(answered.reduce((n, x) => n + x, 0) >= 1_900, `the flood reached the daemon (${answered.join(',')} answered)`);
    const t0 = Date.now();
    const announce = await answerOf(caller, request(caller, { type: RequestType.ANNOUNCE, lName: 'carol', rName: 'dave' }), d.port);
    assert.equal(announce, Answer.SUCCESS, 'the genuine ANNOUNCE is not refused');
    assert.deepEqual(d.ttyWrites, ['pts/7'], 'and the callee is rung');
    const leave = await answerOf(local, request(local, { type: RequestType.LEAVE_INVITE, lName: 'erin', rName: 'frank' }), d.port);
    assert.equal(leave, Answer.SUCCESS, 'a genuine local LEAVE_INVITE is stored');
    const look = await answerOf(local, request(local, { type: RequestType.LOOK_UP, lName: 'frank', rName: 'erin' }), d.port);
    assert.equal(look, Answer.SUCCESS, 'and found by the callee');
    assert.ok(Date.now() - t0 < 2_000, 'at once');
    // Replacements under pressure are aggregated: the first logged in full, no line per datagram.
    await d.service.close();
    const log = lines(d);
    assert.equal(log.filter((l) => String(l['msg']).startsWith('invitation replaced')).length, 1);
    const summary = log.find((l) => String(l['msg']).startsWith('refused under pressure'));
    assert.ok(typeof summary?.['share-replaced'] === 'number' && summary['share-replaced'] > 1_000, JSON.stringify(summary));
    assert.equal(summary?.['sources'], 8);
  } finally {
    for (const s of [...attackers, caller, local]) s.close();
    await d.service.close();
  }
});

test('talkd: 50,000 malformed datagrams from 256 addresses grow its log by less than 100 KB', async () => {
  const d = await startDaemon({ ratePerSecond: DEFAULT_RATE_PER_SECOND, rateBurst: DEFAULT_RATE_BURST });
  const sources = await Promise.all(Array.from({ length: 256 }, (_, i) => udpClient(`127.0.1.${i}`)));
  const TOTAL = 50_000;
  try {
    const junk = Array.from({ length: 16 }, (_, i) => Buffer.alloc(20 + i * 3, 0x1b + i)); // never 76 or 84 bytes
    const deadline = Date.now() + 30_000;
    let sent = 0;
    // Round robin over the 256 sources, paced so the daemon's socket buffer never overflows:
    // at most WINDOW datagrams sent and not yet received (bounded wait).
    const WINDOW = 128;
    while (sent < TOTAL && Date.now() < deadline) {
      for (let i = 0; i < 32 && sent < TOTAL; i++, sent++) {
        sources[sent % sources.length]?.send(junk[sent % junk.length] ?? 'x', d.port, '127.0.0.1');
      }
      await new Promise((r) => setImmediate(r));
      while (sent - d.service.counters.received > WINDOW && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const settle = Date.now() + 5_000;
    while (d.service.counters.received < sent && Date.now() < settle) await new Promise((r) => setTimeout(r, 20));
    await d.service.close();
    const bytes = d.chunks.reduce((n, c) => n + Buffer.byteLength(c), 0);
    const c = d.service.counters;
    assert.equal(sent, TOTAL);
    assert.ok(c.received >= TOTAL * 0.9, `most of the flood reached the daemon (${c.received})`);
    assert.ok(c.malformed >= 256 * DEFAULT_RATE_BURST * 0.9, `each source's burst was decoded and dropped (${c.malformed})`);
    assert.ok(bytes < 100 * 1024, `log grew by ${bytes} bytes`);
    // One window per PRESSURE_SUMMARY_INTERVAL_MS (a loaded machine may need more than one).
    const log = lines(d);
    const full = log.filter((l) => String(l['msg']).startsWith('malformed datagram dropped'));
    const summaries = log.filter((l) => String(l['msg']).startsWith('refused under pressure'));
    assert.ok(summaries.length >= 1 && full.length === summaries.length, `${full.length} full lines, ${summaries.length} summaries`);
    const counted = summaries.reduce((n, l) => n + Number(l['malformed']), 0);
    assert.equal(counted, c.malformed, 'the summaries count every malformed datagram');
    assert.ok(summaries.every((l) => Array.isArray(l['sampled']) && l['sampled'].length <= 8 && Number(l['sources']) <= 256));
  } finally {
    for (const s of sources) s.close();
    await d.service.close();
  }
});

test('talkd: an ANNOUNCE with an empty or invisible caller name is answered FAILED, never rung, logged with its id', async () => {
  let lookups = 0;
  const d = await startDaemon({
    lookUpUser: async () => {
      lookups++;
      return { kind: 'found', tty: 'pts/7' };
    },
  });
  const s = await udpClient('127.0.0.1');
  try {
    for (const lName of ['', '   ', '\x1b\x07']) {
      assert.equal(await answerOf(s, request(s, { type: RequestType.ANNOUNCE, lName }), d.port), Answer.FAILED);
    }
    assert.deepEqual(d.ttyWrites, []);
    assert.equal(lookups, 0, 'no utmp lookup for a request refused anyway');
    const refused = lines(d).filter((l) => String(l['msg']).startsWith('announce refused: the caller name'));
    assert.equal(refused.length, 3);
    assert.ok(refused.every((l) => typeof l['reqId'] === 'string'));
  } finally {
    s.close();
    await d.service.close();
  }
});

test('talkd logs the PERMISSION_DENIED reason (mesg-n from utmp, tty-open-failed with errno) with the request id', async () => {
  let lookup: UserLookup = { kind: 'permission-denied', reason: 'mesg-n' };
  const d = await startDaemon({
    lookUpUser: async () => lookup,
    writeTty: async () => ({ answer: Answer.PERMISSION_DENIED, reason: 'tty-open-failed', errno: 'EACCES' }),
  });
  const s = await udpClient('127.0.0.1');
  try {
    assert.equal(await answerOf(s, request(s, { type: RequestType.ANNOUNCE }), d.port), Answer.PERMISSION_DENIED);
    lookup = { kind: 'found', tty: 'pts/7' };
    assert.equal(await answerOf(s, request(s, { type: RequestType.ANNOUNCE, pid: 8 }), d.port), Answer.PERMISSION_DENIED);
    const log = lines(d);
    const denied = log.filter((l) => String(l['msg']).startsWith('permission denied:'));
    assert.deepEqual(denied.map((l) => [l['reason'], l['errno']]), [['mesg-n', undefined], ['tty-open-failed', 'EACCES']]);
    for (const l of denied) {
      const req = log.find((r) => r['msg'] === 'request' && r['reqId'] === l['reqId']);
      assert.equal(req?.['answer'], 'PERMISSION_DENIED', 'the reason line and the request line share the request id');
    }
  } finally {
    s.close();
    await d.service.close();
  }
});
