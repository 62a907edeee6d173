/**
 * Issue 12, "unit tests that guard the guards": one test per security check of the session core
 * (GatewaySessions and the pieces it delegates to). Each test fails when its check is removed or
 * inverted; scripts/mutate-guards.js applies those mutations one by one and proves it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { AF_INET, IMPOSSIBLE_ID } from '../../protocol/constants.js';
import { Answer, NO_ADDR, RequestType, type NtalkCtlMsg } from '../../protocol/talk-types.js';
import { sockAddr } from '../../protocol/index.js';
import { GatewaySessions } from './gateway-sessions.js';
import { GATEWAY_CTL_TRIES, GATEWAY_CTL_WAIT_MS, MAX_QUEUED_REQUESTS_PER_HOST, RATE_REFUSAL_SUMMARY_MS, RESOLVE_TIMEOUT_MS } from './session-constants.js';
import type { AnyRequest, Effect, Ingress, SessionInput } from './session-types.js';

const TOML = `
[inside]
address = "10.1.0.1"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
hosts = { "rc-out" = "198.51.100.2" }
dns = DNS
[directory]
alice = "alice@10.1.0.2"
bob = "bob@rc-out"
[[policy]]
action = "allow"
`;

function config(extra = '', dns = false): GatewayConfig {
  const r = parseGatewayConfig(TOML.replace('DNS', String(dns)) + extra, 'guards');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config;
}

class Core {
  readonly clock = new ManualClock(0);
  readonly gw: GatewaySessions;
  constructor(cfg = config()) {
    this.gw = new GatewaySessions({ config: cfg, clock: this.clock });
  }
  feed(input: SessionInput): Effect[] {
    return this.gw.handle(input);
  }
  tick(ms: number): Effect[] {
    this.clock.advance(ms);
    return this.gw.handle({ kind: 'tick' });
  }
}

const ALICE: Ingress = { side: 'inside', protocol: 'ntalk', source: { address: '10.1.0.2', port: 3001 } };
const BOB: Ingress = { side: 'outside', protocol: 'ntalk', source: { address: '198.51.100.2', port: 4001 } };
const from = (i: Ingress, address: string, port = i.source.port): Ingress => ({ ...i, source: { address, port } });

function ntalk(type: number, f: Partial<NtalkCtlMsg>): AnyRequest {
  return { protocol: 'ntalk', msg: { version: 1, type, id: 0, addr: NO_ADDR, ctlAddr: NO_ADDR, pid: 777, lName: '', rName: '', rTty: '', ...f } };
}
const announce = (f: Partial<NtalkCtlMsg> = {}, addr = '10.1.0.2'): AnyRequest =>
  ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName: 'bob', addr: sockAddr(addr, 2001), ...f });

function only<K extends Effect['kind']>(fx: Effect[], kind: K): Extract<Effect, { kind: K }>[] {
  return fx.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
}
function answers(fx: Effect[]): number[] {
  return only(fx, 'reply').map((r) => r.response.msg.answer);
}
const daemonAnswer = (answer: number, id: number, type: number = RequestType.ANNOUNCE) =>
  ({ protocol: 'ntalk', msg: { version: 1, type, answer, id, addr: NO_ADDR } }) as const;
const BOBS_DAEMON = { address: '198.51.100.2', port: 518 };

/** alice → bob up to ringing; returns the call id, the id alice was given and the forwarded ANNOUNCE. */
function ring(c: Core, ingress = ALICE, req = announce()) {
  let fx = c.feed({ kind: 'request', ingress, request: req });
  const open = only(fx, 'openDataPath')[0]?.request;
  assert.ok(open !== undefined, `no data path opened: ${JSON.stringify(fx.map((e) => e.kind))}`);
  fx = c.feed({ kind: 'dataPathOpened', callId: open.callId, result: { ok: true, address: '198.51.100.1', port: 40007 } });
  const fwd = only(fx, 'request')[0];
  assert.ok(fwd !== undefined);
  fx = c.feed({ kind: 'response', side: 'outside', source: BOBS_DAEMON, response: daemonAnswer(Answer.SUCCESS, 5) });
  const rep = only(fx, 'reply')[0];
  assert.equal(rep?.response.msg.answer, Answer.SUCCESS);
  return { callId: open.callId, clientId: rep?.response.msg.id ?? 0, fwd, open };
}
const lookUp = (c: Core, ingress: Ingress, lName = 'bob', rName = 'alice'): Effect[] =>
  c.feed({ kind: 'request', ingress, request: ntalk(RequestType.LOOK_UP, { lName, rName }) });

// ------------------------------------------------------------------ request edge

test('guard: over its per-source rate, a source is dropped silently', () => {
  const c = new Core(config('[limits]\nrate = 1\nburst = 2\n'));
  const fx = [0, 1, 2].map(() => lookUp(c, BOB));
  assert.deepEqual(fx.map(answers), [[Answer.NOT_HERE], [Answer.NOT_HERE], []]);
});

test('guard: the inside face drops a request from an outside address, the outside face one from an inside address', () => {
  const c = new Core();
  assert.deepEqual(answers(lookUp(c, from(ALICE, '198.51.100.9'))), [], 'outside address on the inside face');
  assert.deepEqual(answers(lookUp(c, from(BOB, '10.1.0.9'))), [], 'inside address on the outside face');
  assert.deepEqual(answers(lookUp(c, ALICE, 'alice', 'bob')), [Answer.NOT_HERE], 'a genuine one is answered');
  assert.equal(c.gw.status().counters['dropped_spoof'], 2);
});

test('guard: an ntalk request of another version is answered BADVERSION and nothing else happens', () => {
  const c = new Core();
  const fx = c.feed({ kind: 'request', ingress: ALICE, request: { protocol: 'ntalk', msg: { ...(announce().msg as NtalkCtlMsg), version: 2 } } });
  assert.deepEqual(answers(fx), [Answer.BADVERSION]);
  assert.equal(only(fx, 'openDataPath').length + c.gw.size, 0);
});

test('guard: an unprintable l_name or r_name is refused FAILED before any call exists', () => {
  const c = new Core();
  for (const f of [{ lName: 'al\x1bice' }, { rName: 'b\x07ob' }]) {
    const fx = c.feed({ kind: 'request', ingress: ALICE, request: announce(f) });
    assert.deepEqual(answers(fx), [Answer.FAILED], JSON.stringify(f));
    assert.equal(only(fx, 'audit').length, 0);
  }
  assert.equal(c.gw.size, 0);
});

// ------------------------------------------------------------------ ANNOUNCE checks

test('guard: an ANNOUNCE whose addr is not AF_INET is refused BADADDR', () => {
  const c = new Core();
  const fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({ addr: { family: 0, address: '10.1.0.2', port: 2001 } }) });
  assert.deepEqual(answers(fx), [Answer.BADADDR]);
  assert.equal(only(fx, 'openDataPath').length, 0);
});

test("guard: an ANNOUNCE whose addr names another host than the caller's is refused BADADDR (no third-party connects)", () => {
  const c = new Core();
  const fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({}, '10.1.0.77') });
  assert.deepEqual(answers(fx), [Answer.BADADDR]);
  assert.equal(only(fx, 'openDataPath').length, 0);
});

test('guard: an ANNOUNCE whose addr has port 0 is refused BADADDR', () => {
  const c = new Core();
  const fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({ addr: sockAddr('10.1.0.2', 0) }) });
  assert.deepEqual(answers(fx), [Answer.BADADDR]);
});

test("guard: a callee host that resolves to an address on the caller's side is refused MACHINE_UNKNOWN, nothing opened", () => {
  const c = new Core(config('', true));
  // Literal: `bob%10.1.0.9` from the inside names an inside host as the outside callee.
  let fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({ rName: 'bob%10.1.0.9' }) });
  assert.deepEqual(answers(fx), [Answer.MACHINE_UNKNOWN]);
  // Through the resolver: an outside name whose DNS answer is an inside address.
  fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({ rName: 'bob%evil.example' }) });
  const resolve = only(fx, 'resolve')[0];
  assert.ok(resolve !== undefined);
  fx = c.feed({ kind: 'resolved', callId: resolve.callId, address: '10.1.0.9' });
  assert.deepEqual(answers(fx), [Answer.MACHINE_UNKNOWN]);
  assert.equal(only(fx, 'openDataPath').length, 0);
  assert.equal(c.gw.size, 0);
});

test('guard: a name resolution that never answers fails the call after RESOLVE_TIMEOUT_MS (MACHINE_UNKNOWN)', () => {
  const c = new Core(config('', true));
  c.feed({ kind: 'request', ingress: ALICE, request: announce({ rName: 'bob%slow.example' }) });
  assert.equal(c.gw.size, 1);
  const fx = c.tick(RESOLVE_TIMEOUT_MS);
  assert.deepEqual(answers(fx), [Answer.MACHINE_UNKNOWN]);
  assert.equal(c.gw.size, 0);
});

test('guard: a call the policy denies is refused PERMISSION_DENIED and opens nothing', () => {
  const c = new Core(parseDenyAll());
  const fx = c.feed({ kind: 'request', ingress: ALICE, request: announce() });
  assert.deepEqual(answers(fx), [Answer.PERMISSION_DENIED]);
  assert.equal(only(fx, 'openDataPath').length, 0);
});
function parseDenyAll(): GatewayConfig {
  const r = parseGatewayConfig(TOML.replace('DNS', 'false').replace('action = "allow"', 'action = "deny"'), 'deny');
  assert.ok(r.ok);
  return r.config;
}

test("guard: the data path admits only the callee's host and connects only to the caller's addr", () => {
  const c = new Core();
  const { open } = ring(c);
  assert.equal(open.expectedPeer, '198.51.100.2');
  assert.deepEqual(open.target, { address: '10.1.0.2', port: 2001 });
});

test("guard: the forwarded ANNOUNCE names the gateway as ctl_addr (the caller's ctl_addr never leaves)", () => {
  const c = new Core();
  const { fwd } = ring(c, ALICE, announce({ ctlAddr: sockAddr('10.1.0.2', 3001) }));
  assert.equal(fwd.request.msg.ctlAddr.address, '198.51.100.1');
  assert.equal(fwd.request.msg.addr.address, '198.51.100.1', 'addr is the data path');
});

// ------------------------------------------------------------------ LOOK_UP checks

test('guard: a LOOK_UP from a host other than the callee learns nothing (NOT_HERE, no addr)', () => {
  const c = new Core();
  ring(c);
  const fx = lookUp(c, from(BOB, '198.51.100.9'));
  assert.deepEqual(answers(fx), [Answer.NOT_HERE]);
  assert.deepEqual(only(fx, 'reply')[0]?.response.msg.addr, NO_ADDR);
  assert.deepEqual(answers(lookUp(c, BOB)), [Answer.SUCCESS], 'the callee host finds it');
});

test("guard: a LOOK_UP on the caller's side does not find the call, even from the callee's (loopback) address", () => {
  const r = parseGatewayConfig(
    `[inside]\naddress = "127.0.0.1"\nnetworks = ["127.0.0.1/32"]\n[outside]\naddress = "127.0.0.2"\nhosts = { "rc-out" = "127.0.0.1" }\ndns = false\n[directory]\nbob = "bob@rc-out"\n[[policy]]\naction = "allow"\n`,
    'loopback',
  );
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const c = new Core(r.config);
  const inside: Ingress = { side: 'inside', protocol: 'ntalk', source: { address: '127.0.0.1', port: 3001 } };
  let fx = c.feed({ kind: 'request', ingress: inside, request: announce({}, '127.0.0.1') });
  const callId = only(fx, 'openDataPath')[0]?.request.callId ?? '';
  c.feed({ kind: 'dataPathOpened', callId, result: { ok: true, address: '127.0.0.2', port: 40001 } });
  c.feed({ kind: 'response', side: 'outside', source: { address: '127.0.0.1', port: 518 }, response: daemonAnswer(Answer.SUCCESS, 5) });
  fx = lookUp(c, { ...inside, source: { address: '127.0.0.1', port: 4001 } });
  assert.deepEqual(answers(fx), [Answer.NOT_HERE], 'the inside face');
  assert.deepEqual(answers(lookUp(c, { side: 'outside', protocol: 'ntalk', source: { address: '127.0.0.1', port: 4001 } })), [Answer.SUCCESS], 'the outside face');
});

test('guard: a LOOK_UP of a call whose data path was already taken finds nothing', () => {
  const c = new Core();
  const { callId } = ring(c);
  assert.deepEqual(answers(lookUp(c, BOB)), [Answer.SUCCESS]);
  c.feed({ kind: 'dataPathConnected', callId, peer: '198.51.100.2:5555', target: '10.1.0.2:2001' });
  const fx = lookUp(c, BOB);
  assert.deepEqual(answers(fx), [Answer.NOT_HERE], 'connected: the one-shot data path is gone');
  assert.deepEqual(only(fx, 'reply')[0]?.response.msg.addr, NO_ADDR);
});

// ------------------------------------------------------------------ DELETE checks

test('guard: a DELETE with a live id from another host is NOT_HERE and ends nothing', () => {
  const c = new Core();
  const { callId, clientId } = ring(c);
  const fx = c.feed({ kind: 'request', ingress: from(ALICE, '10.1.0.66'), request: ntalk(RequestType.DELETE, { id: clientId, lName: 'alice' }) });
  assert.deepEqual(answers(fx), [Answer.NOT_HERE]);
  assert.equal(only(fx, 'request').length + only(fx, 'closeDataPath').length, 0);
  assert.equal(c.gw.status().calls.find((x) => x.callId === callId)?.state, 'ringing');
});

test("guard: the callee's DELETE of a connected call does not end it", () => {
  const c = new Core();
  const { callId } = ring(c);
  const lookupId = only(lookUp(c, BOB), 'reply')[0]?.response.msg.id ?? 0;
  c.feed({ kind: 'dataPathConnected', callId, peer: '198.51.100.2:5555', target: '10.1.0.2:2001' });
  const fx = c.feed({ kind: 'request', ingress: BOB, request: ntalk(RequestType.DELETE, { id: lookupId, lName: 'bob' }) });
  assert.equal(only(fx, 'closeDataPath').length, 0);
  assert.equal(c.gw.status().calls.find((x) => x.callId === callId)?.state, 'connected');
});

test("guard: the DELETE forwarded to the callee's daemon carries an AF_INET addr and the gateway's ctl_addr (issue 13)", () => {
  const c = new Core();
  const { clientId } = ring(c);
  const fx = c.feed({ kind: 'request', ingress: ALICE, request: ntalk(RequestType.DELETE, { id: clientId, lName: 'alice' }) });
  const del = only(fx, 'request')[0];
  assert.equal(del?.request.msg.type, RequestType.DELETE);
  assert.equal(del?.request.msg.id, 5, "the daemon's id");
  assert.deepEqual(del?.request.msg.addr, { family: AF_INET, address: '198.51.100.1', port: 40007 });
  assert.deepEqual(del?.request.msg.ctlAddr, { family: AF_INET, address: '198.51.100.1', port: 0 });
});

// ------------------------------------------------------------------ re-announces

test('guard: a resend of an answered ANNOUNCE (id <= the id given) is a duplicate: answered, nothing forwarded', () => {
  const c = new Core();
  const { clientId } = ring(c);
  const fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({ id: clientId }) });
  assert.equal(only(fx, 'request').length, 0);
  assert.deepEqual(answers(fx), [Answer.SUCCESS]);
});

test('guard: a resend of a re-announce is a duplicate, and resends while one is in flight are absorbed', () => {
  const c = new Core();
  const { clientId } = ring(c);
  c.clock.advance(30_000);
  let fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({ id: clientId + 1 }) });
  assert.equal(only(fx, 'request').length, 1, 'the re-announce is forwarded');
  fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({ id: clientId + 1 }) });
  assert.equal(only(fx, 'request').length + only(fx, 'reply').length, 0, 'absorbed while in flight');
  c.feed({ kind: 'response', side: 'outside', source: BOBS_DAEMON, response: daemonAnswer(Answer.SUCCESS, 9) });
  fx = c.feed({ kind: 'request', ingress: ALICE, request: announce({ id: clientId + 1 }) });
  assert.equal(only(fx, 'request').length, 0, 'its resend after the answer rings nobody');
});

test("guard: a resend of a re-announce whose id lies above the gateway's next id (its counter wrapped) is still a duplicate", () => {
  const c = new Core();
  const { clientId } = ring(c);
  const high = clientId + 1000;
  assert.equal(only(c.feed({ kind: 'request', ingress: ALICE, request: announce({ id: high }) }), 'request').length, 1);
  const fx = c.feed({ kind: 'response', side: 'outside', source: BOBS_DAEMON, response: daemonAnswer(Answer.SUCCESS, 9) });
  assert.ok((only(fx, 'reply')[0]?.response.msg.id ?? 0) < high, 'the new id is below the re-announce id');
  assert.equal(only(c.feed({ kind: 'request', ingress: ALICE, request: announce({ id: high }) }), 'request').length, 0, 'its resend rings nobody');
});

// ------------------------------------------------------------------ the gateway as a client

test("guard: a daemon response from the wrong port, of the wrong type or protocol does not advance the call", () => {
  const c = new Core();
  const fx0 = c.feed({ kind: 'request', ingress: ALICE, request: announce() });
  const callId = only(fx0, 'openDataPath')[0]?.request.callId ?? '';
  c.feed({ kind: 'dataPathOpened', callId, result: { ok: true, address: '198.51.100.1', port: 40007 } });
  const bad: SessionInput[] = [
    { kind: 'response', side: 'outside', source: { address: '198.51.100.2', port: 5555 }, response: daemonAnswer(Answer.SUCCESS, 5) },
    { kind: 'response', side: 'outside', source: BOBS_DAEMON, response: daemonAnswer(Answer.SUCCESS, 5, RequestType.LOOK_UP) },
    { kind: 'response', side: 'outside', source: { address: '198.51.100.2', port: 517 }, response: { protocol: 'otalk', msg: { byteOrder: 'big', layout: 'padded', type: RequestType.ANNOUNCE, answer: 0, id: 5, addr: NO_ADDR } } },
    // otalk and ntalk answers are both 24 bytes: one decoded as otalk from the ntalk port is not the answer either.
    { kind: 'response', side: 'outside', source: BOBS_DAEMON, response: { protocol: 'otalk', msg: { byteOrder: 'big', layout: 'padded', type: RequestType.ANNOUNCE, answer: 0, id: 5, addr: NO_ADDR } } },
  ];
  for (const b of bad) assert.deepEqual(answers(c.feed(b)), [], JSON.stringify(b));
  assert.equal(c.gw.status().counters['dropped_unmatched_response'], 4);
  assert.equal(c.gw.status().calls[0]?.state, 'announcing');
});

test('guard: requests queued for one daemon host are bounded (MAX_QUEUED_REQUESTS_PER_HOST); the overflow fails at once', () => {
  const c = new Core(config(`[limits]\nmax_calls = 1000\ncalls_per_source = 1000\npending_per_callee = 1000\nrate = 1000\nburst = 1000\nglobal_rate = 1000\nglobal_burst = 1000\nside_reserve = 0\n`));
  const failed: number[] = [];
  let forwarded = 0;
  for (let i = 0; i < MAX_QUEUED_REQUESTS_PER_HOST + 2; i++) {
    const fx = c.feed({ kind: 'request', ingress: from(ALICE, '10.1.0.2', 6000 + i), request: announce({ rName: `u${i}%rc-out`, pid: i }) });
    const callId = only(fx, 'openDataPath')[0]?.request.callId ?? '';
    const fx2 = c.feed({ kind: 'dataPathOpened', callId, result: { ok: true, address: '198.51.100.1', port: 40000 + i } });
    forwarded += only(fx2, 'request').length;
    failed.push(...answers(fx2));
  }
  assert.equal(forwarded, 1, 'one in flight, the rest queued');
  assert.deepEqual(failed, [Answer.FAILED], 'one in flight + 64 queued; the 66th fails');
});

test("guard: an unanswered request to a daemon is retried GATEWAY_CTL_TRIES times, then the call fails", () => {
  const c = new Core();
  const fx0 = c.feed({ kind: 'request', ingress: ALICE, request: announce() });
  const callId = only(fx0, 'openDataPath')[0]?.request.callId ?? '';
  let sent = only(c.feed({ kind: 'dataPathOpened', callId, result: { ok: true, address: '198.51.100.1', port: 40007 } }), 'request').length;
  const got: number[] = [];
  for (let i = 0; i < GATEWAY_CTL_TRIES + 3; i++) {
    const fx = c.tick(GATEWAY_CTL_WAIT_MS);
    sent += only(fx, 'request').length;
    got.push(...answers(fx));
  }
  assert.equal(sent, GATEWAY_CTL_TRIES);
  assert.deepEqual(got, [Answer.FAILED]);
  assert.equal(c.gw.size, 0);
});

test('guard: a data path opened for a call that is gone is closed at once', () => {
  const c = new Core();
  const fx = c.feed({ kind: 'dataPathOpened', callId: 'c-424242', result: { ok: true, address: '198.51.100.1', port: 40009 } });
  assert.deepEqual(only(fx, 'closeDataPath'), [{ kind: 'closeDataPath', callId: 'c-424242' }]);
});

// ------------------------------------------------------------------ fair shares (issue 18)

const SHARES = `[limits]\nmax_calls = 16\ncalls_per_source = 3\ncalls_per_network = 4\npending_per_callee = 2\nside_reserve = 0.25\nrate = 1000\nburst = 1000\n`;

test('guard: one source address holds at most calls_per_source calls; the next is FAILED with no call id and no audit line', () => {
  const c = new Core(config(SHARES));
  const out: number[][] = [];
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const fx = c.feed({ kind: 'request', ingress: from(ALICE, '10.1.0.2', 6000 + i), request: announce({ rName: `u${i}%rc-out`, pid: i }) });
    out.push(answers(fx));
    ids.push(...only(fx, 'openDataPath').map((o) => o.request.callId));
  }
  assert.deepEqual(out, [[], [], [], [Answer.FAILED]]);
  assert.equal(only(c.feed({ kind: 'request', ingress: from(ALICE, '10.1.0.2', 6009), request: announce({ rName: 'v%rc-out', pid: 9 }) }), 'audit').length, 0, 'a refusal costs no audit line');
  assert.equal(c.gw.size, 3);
  assert.equal(c.gw.status().counters['calls_refused_share'], 2);
  // The three end (no data path): their slots are free again.
  for (const callId of ids) c.feed({ kind: 'dataPathOpened', callId, result: { ok: false, reason: 'no-port', detail: '' } });
  assert.equal(c.gw.size, 0);
  assert.equal(only(c.feed({ kind: 'request', ingress: from(ALICE, '10.1.0.2', 6010), request: announce({ rName: 'w%rc-out', pid: 10 }) }), 'openDataPath').length, 1);
});

test('guard: one outside network holds at most calls_per_network calls', () => {
  const c = new Core(config(SHARES.replace('pending_per_callee = 2', 'pending_per_callee = 100')));
  const got: number[][] = [];
  for (let i = 0; i < 5; i++) {
    const src = `198.51.100.${10 + i}`;
    got.push(answers(c.feed({ kind: 'request', ingress: from(BOB, src), request: announce({ lName: 'bob', rName: 'alice', pid: i }, src) })));
  }
  assert.deepEqual(got, [[], [], [], [], [Answer.FAILED]]);
  const other = answers(c.feed({ kind: 'request', ingress: from(BOB, '203.0.113.5'), request: announce({ lName: 'eve', rName: 'alice' }, '203.0.113.5') }));
  assert.deepEqual(other, [], 'another outside network still gets a slot');
});

test('guard: a callee is rung by at most pending_per_callee distinct pending calls', () => {
  const c = new Core(config(SHARES));
  const got: number[][] = [];
  for (let i = 0; i < 3; i++) {
    const src = `203.0.${i}.5`;
    got.push(answers(c.feed({ kind: 'request', ingress: from(BOB, src), request: announce({ lName: 'eve', rName: 'alice', pid: i }, src) })));
  }
  assert.deepEqual(got, [[], [], [Answer.FAILED]]);
  // One of the two connects: alice is rung by one pending call, so another caller may ring her.
  const first = c.gw.status().calls[0]?.callId ?? '';
  c.feed({ kind: 'dataPathConnected', callId: first, peer: '10.1.0.2:5555', target: '203.0.0.5:2001' });
  const fx = c.feed({ kind: 'request', ingress: from(BOB, '203.0.7.5'), request: announce({ lName: 'eve', rName: 'alice', pid: 7 }, '203.0.7.5') });
  assert.equal(only(fx, 'openDataPath').length, 1);
});

test("guard: the outside cannot take the inside's reserve of the table", () => {
  const c = new Core(config(SHARES.replace('pending_per_callee = 2', 'pending_per_callee = 100')));
  let admitted = 0;
  for (let i = 0; i < 16; i++) {
    const src = `203.0.${i}.5`;
    const fx = c.feed({ kind: 'request', ingress: from(BOB, src), request: announce({ lName: 'eve', rName: 'alice', pid: i }, src) });
    if (answers(fx).length === 0) admitted += 1;
  }
  assert.equal(admitted, 12, '16 - ceil(0.25 × 16) owed to the inside');
  assert.deepEqual(answers(c.feed({ kind: 'request', ingress: ALICE, request: announce() })), [], 'an inside caller still gets a slot');
});

test('guard: another ANNOUNCE from an address for a callee it already rings is a repeat: answered, never rung again', () => {
  const c = new Core();
  ring(c);
  for (let i = 0; i < 5; i++) {
    const fx = c.feed({ kind: 'request', ingress: from(ALICE, '10.1.0.2', 7000 + i), request: announce({ pid: 100 + i, lName: `m${i}` }) });
    assert.equal(only(fx, 'openDataPath').length + only(fx, 'request').length, 0, `announce ${i} rang again`);
    assert.deepEqual(answers(fx), [Answer.SUCCESS]);
  }
  // Another name for the same callee (user%host instead of the directory) is the same callee.
  const fx = c.feed({ kind: 'request', ingress: from(ALICE, '10.1.0.2', 7100), request: announce({ pid: 200, rName: 'bob%198.51.100.2' }) });
  assert.equal(only(fx, 'openDataPath').length, 0);
  assert.equal(c.gw.size, 1);
  assert.equal(c.gw.status().counters['announces_merged'], 6);
});

test('guard: share refusals are logged once when they start, then summarised per window with counts by reason', () => {
  const c = new Core(config(SHARES));
  const logs: Extract<Effect, { kind: 'log' }>[] = [];
  for (let i = 0; i < 40; i++) {
    const fx = c.feed({ kind: 'request', ingress: from(ALICE, '10.1.0.2', 6000 + i), request: announce({ rName: `u${i}%rc-out`, pid: i }) });
    logs.push(...only(fx, 'log').filter((l) => l.level === 'warn'));
  }
  assert.equal(logs.length, 1);
  assert.equal(logs[0]?.fields?.['reason'], 'source_share');
  const due = c.gw.nextDeadline();
  assert.ok(due !== undefined && due <= RATE_REFUSAL_SUMMARY_MS);
  const summary = only(c.tick(RATE_REFUSAL_SUMMARY_MS), 'log').filter((l) => /call table shares/.test(l.msg));
  assert.equal(summary.length, 1);
  assert.deepEqual(summary[0]?.fields?.['byReason'], { source_share: 37 });
});
