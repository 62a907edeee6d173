/**
 * TalkdService hardening over real loopback sockets: the per-source rate limit, the bounded
 * invitation table (FAILED + a logged event when full), malformed datagrams counted and dropped
 * without ever crashing the daemon, and the structured logs (one JSON object per line, each
 * request-scoped line carrying its request id).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import fc from 'fast-check';
import { decodeAnyCtlMsg, decodeNtalkCtlResponse, encodeNtalkCtlMsg, sockAddr, type NtalkCtlMsg } from '../protocol/index.js';
import { DecodeError } from '../protocol/decode-error.js';
import { Answer, RequestType } from '../protocol/talk-types.js';
import { ManualClock, systemClock, type Clock } from '../shared/clock.js';
import { createLogger } from '../observability/logger.js';
import { NodeDatagramEndpoint } from '../native/node-datagram-endpoint.js';
import { TalkdService } from './talkd.js';
import { collectingSink } from './testing/log-sink.js';
import { exchange, udpClient } from './testing/udp-client.js';
import type { UserLookup } from './user-lookup.js';

const NOT_HERE_LOOKUP: UserLookup = { kind: 'not-here' };

interface Daemon {
  service: TalkdService;
  ntalk: number;
  otalk: number;
  /** Raw chunks written to the log destination. */
  chunks: string[];
}

async function startDaemon(opts: {
  clock?: Clock;
  maxInvitations?: number;
  perSource?: number;
  rate?: number;
  burst?: number;
}): Promise<Daemon> {
  const chunks: string[] = [];
  const sink = collectingSink(chunks);
  const service = new TalkdService({
    clock: opts.clock ?? systemClock,
    logger: createLogger({ name: 'talkd-test', format: 'json', level: 'debug', destination: sink }),
    daemonHost: 'testhost',
    maxInvitations: opts.maxInvitations ?? 64,
    ...(opts.perSource !== undefined ? { maxInvitationsPerSource: opts.perSource } : {}),
    ratePerSecond: opts.rate ?? 100_000,
    rateBurst: opts.burst ?? 100_000,
    isLocalAddress: (a) => a.startsWith('127.'),
    lookUpUser: async () => NOT_HERE_LOOKUP,
    resolveCallerHost: async (a) => a,
    writeTty: async () => ({ answer: Answer.FAILED }),
  });
  const n = await NodeDatagramEndpoint.bind('127.0.0.1', 0);
  const o = await NodeDatagramEndpoint.bind('127.0.0.1', 0);
  service.attach(n, 'ntalk');
  service.attach(o, 'otalk');
  return { service, ntalk: n.localAddress().port, otalk: o.localAddress().port, chunks };
}

function lookUp(s: Socket): NtalkCtlMsg {
  return {
    version: 1, type: RequestType.LOOK_UP, id: 0, addr: sockAddr('127.0.0.1', 0),
    ctlAddr: sockAddr('127.0.0.1', s.address().port), pid: 9, lName: 'bob', rName: 'alice', rTty: '',
  };
}

/** Waits (bounded) until `pred` holds. */
async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every log line parsed; fails unless each line is exactly one JSON object. */
function logLines(d: Daemon): Array<Record<string, unknown>> {
  const text = d.chunks.join('');
  assert.ok(text.endsWith('\n'), 'the log ends with a complete line');
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const v: unknown = JSON.parse(line);
      assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `one JSON object per line: ${line}`);
      return v as Record<string, unknown>;
    });
}

test('talkd rate-limits per source address: the burst is answered, the rest dropped and counted, other sources unaffected', async () => {
  const clock = new ManualClock();
  const d = await startDaemon({ clock, rate: 2, burst: 3 });
  const a = await udpClient('127.0.0.1');
  const b = await udpClient('127.0.0.2');
  try {
    const answers: Array<number | undefined> = [];
    for (let i = 0; i < 6; i++) {
      const r = await exchange(a, encodeNtalkCtlMsg(lookUp(a)), d.ntalk, 200);
      answers.push(r === undefined ? undefined : decodeNtalkCtlResponse(r).answer);
    }
    assert.deepEqual(answers, [Answer.NOT_HERE, Answer.NOT_HERE, Answer.NOT_HERE, undefined, undefined, undefined]);
    assert.equal(d.service.counters.rateLimited, 3);
    // Another source has its own bucket.
    const rb = await exchange(b, encodeNtalkCtlMsg(lookUp(b)), d.ntalk);
    assert.ok(rb, '127.0.0.2 is answered while 127.0.0.1 is limited');
    // After one second the first source regains `rate` tokens: two answers, then dropped again.
    clock.advance(1000);
    const again: boolean[] = [];
    for (let i = 0; i < 3; i++) again.push((await exchange(a, encodeNtalkCtlMsg(lookUp(a)), d.ntalk, 200)) !== undefined);
    assert.deepEqual(again, [true, true, false]);
    assert.equal(d.service.counters.rateLimited, 4);
    const limited = logLines(d).filter((l) => l['msg'] === 'rate limited, dropped');
    assert.equal(limited.length, 4);
    assert.ok(limited.every((l) => typeof l['reqId'] === 'string' && l['src'] !== undefined));
  } finally {
    a.close();
    b.close();
    await d.service.close();
  }
});

test('talkd answers FAILED when the invitation table is full of other sources and logs the event with the request id', async () => {
  const d = await startDaemon({ maxInvitations: 2, perSource: 1 });
  const clients = [await udpClient('127.0.0.1'), await udpClient('127.0.0.2'), await udpClient('127.0.0.3')];
  try {
    const leave = (s: Socket, who: string): NtalkCtlMsg => ({
      ...lookUp(s), type: RequestType.LEAVE_INVITE, id: 0xffffffff, addr: sockAddr('127.0.0.1', 4000), lName: who, rName: 'bob',
      ctlAddr: sockAddr(s.address().address, s.address().port),
    });
    const answers: number[] = [];
    for (const [i, who] of ['u1', 'u2', 'u3'].entries()) {
      const s = clients[i];
      assert.ok(s);
      const r = await exchange(s, encodeNtalkCtlMsg(leave(s, who)), d.ntalk);
      assert.ok(r);
      answers.push(decodeNtalkCtlResponse(r).answer);
    }
    assert.deepEqual(answers, [Answer.SUCCESS, Answer.SUCCESS, Answer.FAILED]);
    const lines = logLines(d);
    const full = lines.filter((l) => String(l['msg']).startsWith('invitation table full, request refused'));
    assert.equal(full.length, 1);
    const reqId = full[0]?.['reqId'];
    assert.equal(typeof reqId, 'string');
    const req = lines.find((l) => l['msg'] === 'request' && l['reqId'] === reqId);
    assert.equal(req?.['answer'], 'FAILED', 'the refused request is logged with the same id');
    assert.equal(req?.['lName'], 'u3');
  } finally {
    for (const c of clients) c.close();
    await d.service.close();
  }
});

test('talkd counts and drops malformed datagrams of any content and keeps answering (property)', async () => {
  const d = await startDaemon({});
  const s = await udpClient();
  let replies = 0;
  s.on('message', () => replies++);
  try {
    const datagrams = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 120 }),
        fc.uint8Array({ minLength: 76, maxLength: 76 }),
        fc.uint8Array({ minLength: 84, maxLength: 84 }),
      ),
      { numRuns: 300, seed: 20261124 },
    );
    let malformed = 0;
    for (const g of datagrams) {
      try {
        decodeAnyCtlMsg(g);
      } catch (err: unknown) {
        assert.ok(err instanceof DecodeError, 'the codec only ever throws DecodeError');
        malformed++;
      }
    }
    assert.ok(malformed > 100 && malformed < datagrams.length, `a mix of malformed (${malformed}) and decodable datagrams`);
    datagrams.forEach((g, i) => s.send(g, i % 2 === 0 ? d.ntalk : d.otalk, '127.0.0.1'));
    await until(() => d.service.counters.received === datagrams.length);
    await until(() => d.service.counters.answered === datagrams.length - malformed);
    assert.equal(d.service.counters.malformed, malformed);
    await until(() => replies === datagrams.length - malformed);
    // Still serving.
    s.removeAllListeners('message');
    const r = await exchange(s, encodeNtalkCtlMsg(lookUp(s)), d.ntalk);
    assert.ok(r);
    assert.equal(decodeNtalkCtlResponse(r).answer, Answer.NOT_HERE);

    // The first malformed datagram of the window is logged in full, the rest in the summary
    // written at close (aggregated: never one line per datagram).
    await d.service.close();
    const lines = logLines(d);
    const dropped = lines.filter((l) => String(l['msg']).startsWith('malformed datagram dropped'));
    assert.equal(dropped.length, 1);
    for (const l of dropped) {
      assert.equal(typeof l['reqId'], 'string');
      assert.equal(typeof l['field'], 'string');
      assert.equal(typeof l['offset'], 'number');
    }
    const summaries = lines.filter((l) => String(l['msg']).startsWith('refused under pressure'));
    assert.equal(summaries.length, 1);
    assert.equal(summaries[0]?.['malformed'], malformed, 'the summary counts every malformed datagram');
    assert.match(String(summaries[0]?.['reqIds']), /^(ntalk|otalk)-\d+\.\.(ntalk|otalk)-\d+$/);
    assert.deepEqual(summaries[0]?.['sampled'], ['127.0.0.1']);
    // Every request-scoped line carries its id, and ids are unique per request.
    const requests = lines.filter((l) => l['msg'] === 'request');
    assert.equal(requests.length, datagrams.length - malformed + 1);
    const ids = [...requests, ...dropped].map((l) => l['reqId']);
    assert.ok(ids.every((id) => typeof id === 'string' && /^(ntalk|otalk)-\d+$/.test(id)));
    assert.equal(new Set(ids).size, ids.length);
  } finally {
    s.close();
    await d.service.close();
  }
});
