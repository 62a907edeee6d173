import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { Answer, NO_ADDR, RequestType, type NtalkCtlMsg, type OtalkCtlMsg } from '../../protocol/talk-types.js';
import { IMPOSSIBLE_ID, MAX_LIFE_MS } from '../../protocol/constants.js';
import { encodeNtalkCtlMsg, encodeNtalkCtlResponse, encodeOtalkCtlMsg, encodeOtalkCtlResponse, sockAddr } from '../../protocol/index.js';
import { GatewaySessions } from './gateway-sessions.js';
import type { AnyRequest, Effect, Ingress, SessionInput } from './session-types.js';
import { GATEWAY_CTL_WAIT_MS } from './session-constants.js';

const TOML = `
[inside]
address = "10.1.0.1"
networks = ["10.1.0.0/24"]
hosts = { "ws2" = "10.1.0.2" }
[outside]
address = "198.51.100.1"
hosts = { "rc-out" = "198.51.100.2", "otk" = "198.51.100.3" }
dns = false
[directory]
alice = "alice@10.1.0.2"
bob = "bob@rc-out"
[[policy]]
action = "deny"
user = "carol"
[[policy]]
action = "allow"
`;

function config(extra = ''): GatewayConfig {
  const r = parseGatewayConfig(TOML + extra, 'test');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config;
}

const INSIDE_BYTES = [
  [10, 1, 0, 1],
  [10, 1, 0, 2],
];

function containsSeq(bytes: Uint8Array, seq: number[]): boolean {
  outer: for (let i = 0; i + seq.length <= bytes.length; i++) {
    for (let j = 0; j < seq.length; j++) if (bytes[i + j] !== seq[j]) continue outer;
    return true;
  }
  return false;
}

/** Encodes a datagram effect exactly as the adapters will put it on the wire. */
function wireBytes(e: Effect): Uint8Array | undefined {
  if (e.kind === 'reply') {
    return e.response.protocol === 'ntalk' ? encodeNtalkCtlResponse(e.response.msg) : encodeOtalkCtlResponse(e.response.msg);
  }
  if (e.kind === 'request') return e.request.protocol === 'ntalk' ? encodeNtalkCtlMsg(e.request.msg) : encodeOtalkCtlMsg(e.request.msg);
  return undefined;
}

class Harness {
  readonly clock = new ClockLike();
  readonly gw: GatewaySessions;
  readonly all: Effect[] = [];
  constructor(cfg = config()) {
    this.gw = new GatewaySessions({ config: cfg, clock: this.clock });
  }
  feed(input: SessionInput): Effect[] {
    const fx = this.gw.handle(input);
    for (const e of fx) {
      this.all.push(e);
      // Address hiding, asserted on every datagram that leaves on the outside.
      const outside = (e.kind === 'reply' && e.ingress.side === 'outside') || (e.kind === 'request' && e.side === 'outside');
      if (!outside) continue;
      if (e.kind === 'request') assert.ok(!e.to.address.startsWith('10.1.0.'), `request to inside address ${e.to.address}`);
      const bytes = wireBytes(e) as Uint8Array;
      for (const seq of INSIDE_BYTES) assert.ok(!containsSeq(bytes, seq), `inside address ${seq.join('.')} in an outside datagram`);
    }
    return fx;
  }
  tick(ms: number): Effect[] {
    this.clock.advance(ms);
    return this.feed({ kind: 'tick' });
  }
}
class ClockLike extends ManualClock {}

const insideIngress = (protocol: 'ntalk' | 'otalk' = 'ntalk'): Ingress => ({ side: 'inside', protocol, source: { address: '10.1.0.2', port: 3001 } });
const outsideIngress: Ingress = { side: 'outside', protocol: 'ntalk', source: { address: '198.51.100.2', port: 4001 } };

function ntalk(type: number, f: Partial<NtalkCtlMsg>): AnyRequest {
  return {
    protocol: 'ntalk',
    msg: { version: 1, type, id: 0, addr: NO_ADDR, ctlAddr: NO_ADDR, pid: 777, lName: '', rName: '', rTty: '', ...f },
  };
}

function only<K extends Effect['kind']>(fx: Effect[], kind: K): Extract<Effect, { kind: K }>[] {
  return fx.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
}
function one<K extends Effect['kind']>(fx: Effect[], kind: K): Extract<Effect, { kind: K }> {
  const xs = only(fx, kind);
  assert.equal(xs.length, 1, `expected one ${kind} effect, got ${JSON.stringify(fx.map((e) => e.kind))}`);
  return xs[0] as Extract<Effect, { kind: K }>;
}
function ntalkReply(e: Extract<Effect, { kind: 'reply' }>) {
  assert.equal(e.response.protocol, 'ntalk');
  return e.response.msg;
}

/** Drives an outbound call alice@10.1.0.2 → bob@rc-out up to ringing; returns its ids. */
function ringOutbound(h: Harness, rName = 'bob%rc-out') {
  const announce = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName, addr: sockAddr('10.1.0.2', 2001), ctlAddr: sockAddr('10.1.0.2', 3001) });
  let fx = h.feed({ kind: 'request', ingress: insideIngress(), request: announce });
  assert.equal(one(fx, 'audit').record.event, 'requested');
  const open = one(fx, 'openDataPath').request;
  assert.deepEqual(
    { listen: open.listenAddress, peer: open.expectedPeer, target: open.target, bind: open.bindAddress },
    { listen: '198.51.100.1', peer: '198.51.100.2', target: { address: '10.1.0.2', port: 2001 }, bind: '10.1.0.1' },
  );
  assert.equal(only(fx, 'request').length, 0, 'nothing is forwarded before the data path exists');
  fx = h.feed({ kind: 'dataPathOpened', callId: open.callId, result: { ok: true, address: '198.51.100.1', port: 40007 } });
  const req = one(fx, 'request');
  assert.equal(req.side, 'outside');
  assert.deepEqual(req.to, { address: '198.51.100.2', port: 518 });
  assert.equal(req.request.protocol, 'ntalk');
  const fwd = req.request.msg;
  assert.equal(fwd.type, RequestType.ANNOUNCE);
  assert.equal(fwd.lName, 'alice');
  assert.equal(fwd.rName, 'bob');
  assert.deepEqual(fwd.addr, sockAddr('198.51.100.1', 40007));
  assert.equal(fwd.ctlAddr.address, '198.51.100.1');
  assert.notEqual(fwd.pid, 777, "the caller's pid does not leave");
  // bob's daemon answers SUCCESS id 5
  fx = h.feed({ kind: 'response', side: 'outside', source: { address: '198.51.100.2', port: 518 }, response: { protocol: 'ntalk', msg: { version: 1, type: RequestType.ANNOUNCE, answer: Answer.SUCCESS, id: 5, addr: sockAddr('198.51.100.2', 518) } } });
  const rep = ntalkReply(one(fx, 'reply'));
  assert.equal(rep.answer, Answer.SUCCESS);
  assert.deepEqual(rep.addr, NO_ADDR, 'daemon reply junk is never copied');
  assert.equal(only(fx, 'audit')[0]?.record.event, 'rung');
  return { callId: open.callId, clientId: rep.id, announce };
}

test('GatewaySessions: a whole outbound call, message by message', () => {
  const h = new Harness();
  const { callId, clientId, announce } = ringOutbound(h);

  // A resend of the first ANNOUNCE whose answer was lost (same id ≤ given id is a duplicate) is not forwarded.
  let fx = h.feed({ kind: 'request', ingress: insideIngress(), request: { ...announce, msg: { ...announce.msg, id: clientId } } as AnyRequest });
  assert.equal(only(fx, 'request').length, 0);
  assert.equal(ntalkReply(one(fx, 'reply')).id, clientId);

  // RING_WAIT later the client re-announces with remote_id + 1 → the daemon gets its own id + 1.
  h.clock.advance(30_000);
  fx = h.feed({ kind: 'request', ingress: insideIngress(), request: { ...announce, msg: { ...announce.msg, id: clientId + 1 } } as AnyRequest });
  const re = one(fx, 'request');
  assert.equal(re.request.msg.id, 6);
  fx = h.feed({ kind: 'response', side: 'outside', source: { address: '198.51.100.2', port: 518 }, response: { protocol: 'ntalk', msg: { version: 1, type: RequestType.ANNOUNCE, answer: Answer.SUCCESS, id: 9, addr: NO_ADDR } } });
  const clientId2 = ntalkReply(one(fx, 'reply')).id;
  assert.notEqual(clientId2, clientId, 're-announce gets a fresh gateway id');
  // A resend of that re-announce (its answer lost) is a duplicate: nothing is forwarded.
  fx = h.feed({ kind: 'request', ingress: insideIngress(), request: { ...announce, msg: { ...announce.msg, id: clientId + 1 } } as AnyRequest });
  assert.equal(only(fx, 'request').length, 0);

  // A LOOK_UP from another outside host learns nothing.
  const lookup = ntalk(RequestType.LOOK_UP, { lName: 'bob', rName: 'alice', ctlAddr: sockAddr('198.51.100.9', 4001) });
  fx = h.feed({ kind: 'request', ingress: { ...outsideIngress, source: { address: '198.51.100.9', port: 4001 } }, request: lookup });
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.NOT_HERE);

  // bob answers: `talk alice@gw` → LOOK_UP on the outside face → the relay on the outside address.
  fx = h.feed({ kind: 'request', ingress: outsideIngress, request: lookup });
  const found = ntalkReply(one(fx, 'reply'));
  assert.equal(found.answer, Answer.SUCCESS);
  assert.deepEqual(found.addr, sockAddr('198.51.100.1', 40007));

  // The relay connects; alice's accept() returns and she DELETEs remote_id at the gateway.
  h.feed({ kind: 'dataPathConnected', callId, peer: '198.51.100.2:5555', target: '10.1.0.2:2001' });
  fx = h.feed({ kind: 'request', ingress: insideIngress(), request: ntalk(RequestType.DELETE, { id: clientId2, lName: 'alice', rName: 'bob%rc-out' }) });
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.SUCCESS);
  const del = one(fx, 'request');
  assert.equal(del.request.msg.type, RequestType.DELETE);
  assert.equal(del.request.msg.id, 9, "the DELETE carries the daemon's id");
  assert.equal(only(fx, 'closeDataPath').length, 0, 'a connected call keeps its data path');
  assert.equal(h.gw.status().calls[0]?.state, 'connected');

  fx = h.feed({ kind: 'dataPathEnded', callId, bytesIn: 10, bytesOut: 20, durationMs: 5000, reason: 'peer-closed' });
  assert.deepEqual(one(fx, 'audit').record, { event: 'ended', callId, code: 'conversation-ended', reason: 'peer-closed', lastState: 'connected', bytesIn: 10, bytesOut: 20, durationMs: 5000 });
  assert.equal(h.gw.size, 0);
});

/** Drives an outbound call up to the forwarded ANNOUNCE, its answer from bob's daemon still outstanding. */
const aliceAnnounce = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName: 'bob%rc-out', addr: sockAddr('10.1.0.2', 2001), ctlAddr: sockAddr('10.1.0.2', 3001) });
function announceOutbound(h: Harness) {
  const open = one(h.feed({ kind: 'request', ingress: insideIngress(), request: aliceAnnounce }), 'openDataPath').request;
  assert.equal(one(h.feed({ kind: 'dataPathOpened', callId: open.callId, result: { ok: true, address: '198.51.100.1', port: 40007 } }), 'request').request.msg.type, RequestType.ANNOUNCE);
  return open.callId;
}
const bobLookUp = ntalk(RequestType.LOOK_UP, { lName: 'bob', rName: 'alice', ctlAddr: sockAddr('198.51.100.2', 4001) });
const bobDaemonAnswers = (answer: number): SessionInput => ({ kind: 'response', side: 'outside', source: { address: '198.51.100.2', port: 518 }, response: { protocol: 'ntalk', msg: { version: 1, type: RequestType.ANNOUNCE, answer, id: 5, addr: NO_ADDR } } });

test("GatewaySessions: the callee's LOOK_UP that overtakes its daemon's answer to the ANNOUNCE finds the call", () => {
  // talkd writes to the callee's terminal before it answers; a quick callee (or a chained gateway's
  // callee) looks the call up first. NOT_HERE there would make its talk start a second call.
  const h = new Harness();
  const callId = announceOutbound(h);
  let fx = h.feed({ kind: 'request', ingress: outsideIngress, request: bobLookUp });
  const found = ntalkReply(one(fx, 'reply'));
  assert.equal(found.answer, Answer.SUCCESS);
  assert.deepEqual(found.addr, sockAddr('198.51.100.1', 40007));
  assert.equal(h.gw.status().calls[0]?.state, 'answered');
  // alice's resend of her unanswered ANNOUNCE is absorbed: nobody is announced to twice.
  assert.deepEqual(h.feed({ kind: 'request', ingress: insideIngress(), request: aliceAnnounce }).filter((e) => e.kind !== 'count'), []);
  // The daemon's answer then still rings (audit 'rung', the daemon's id kept) and reaches alice.
  fx = h.feed(bobDaemonAnswers(Answer.SUCCESS));
  assert.equal(one(fx, 'audit').record.event, 'rung');
  const rep = ntalkReply(one(fx, 'reply'));
  assert.equal(rep.answer, Answer.SUCCESS);
  assert.equal(h.gw.status().calls[0]?.state, 'answered', 'an answered call does not fall back to ringing');
  // alice's DELETE after her accept() does not cancel the answered call; bob's daemon gets its own id.
  h.feed({ kind: 'dataPathConnected', callId, peer: '198.51.100.2:5555', target: '10.1.0.2:2001' });
  fx = h.feed({ kind: 'request', ingress: insideIngress(), request: ntalk(RequestType.DELETE, { id: rep.id, lName: 'alice', rName: 'bob%rc-out' }) });
  assert.equal(one(fx, 'request').request.msg.id, 5);
  assert.equal(h.gw.status().calls[0]?.state, 'connected');

  // Still only the callee host may look it up early.
  const h2 = new Harness();
  announceOutbound(h2);
  fx = h2.feed({ kind: 'request', ingress: { ...outsideIngress, source: { address: '198.51.100.9', port: 4001 } }, request: bobLookUp });
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.NOT_HERE);

  // A refusal arriving after the callee looked the call up does not end it: alice keeps waiting.
  const h3 = new Harness();
  announceOutbound(h3);
  h3.feed({ kind: 'request', ingress: outsideIngress, request: bobLookUp });
  fx = h3.feed(bobDaemonAnswers(Answer.PERMISSION_DENIED));
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.SUCCESS);
  assert.equal(h3.gw.size, 1);
  // Without the early LOOK_UP the same refusal ends the call.
  const h4 = new Harness();
  announceOutbound(h4);
  fx = h4.feed(bobDaemonAnswers(Answer.PERMISSION_DENIED));
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.PERMISSION_DENIED);
  assert.equal(h4.gw.size, 0);
});

test('GatewaySessions: a whole inbound call, symmetric, with the route back in the announced name', () => {
  const h = new Harness();
  const announce = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'bob', rName: 'alice', addr: sockAddr('198.51.100.2', 2222), ctlAddr: sockAddr('198.51.100.2', 4001) });
  let fx = h.feed({ kind: 'request', ingress: outsideIngress, request: announce });
  const open = one(fx, 'openDataPath').request;
  assert.deepEqual([open.listenAddress, open.expectedPeer, open.bindAddress], ['10.1.0.1', '10.1.0.2', '198.51.100.1']);
  fx = h.feed({ kind: 'dataPathOpened', callId: open.callId, result: { ok: true, address: '10.1.0.1', port: 40001 } });
  const fwd = one(fx, 'request');
  assert.deepEqual([fwd.side, fwd.to.address, fwd.request.msg.lName, fwd.request.msg.rName], ['inside', '10.1.0.2', 'bob%rc-out', 'alice']);
  fx = h.feed({ kind: 'response', side: 'inside', source: { address: '10.1.0.2', port: 518 }, response: { protocol: 'ntalk', msg: { version: 1, type: 3, answer: Answer.SUCCESS, id: 41, addr: sockAddr('10.1.0.2', 518) } } });
  const rep = ntalkReply(one(fx, 'reply'));
  assert.equal(rep.answer, Answer.SUCCESS);
  // alice answers with the printed command `talk bob%rc-out@gw`.
  fx = h.feed({ kind: 'request', ingress: insideIngress(), request: ntalk(RequestType.LOOK_UP, { lName: 'alice', rName: 'bob%rc-out' }) });
  assert.deepEqual(ntalkReply(one(fx, 'reply')).addr, sockAddr('10.1.0.1', 40001));
  // bob's DELETE(remote_id) reaches alice's daemon as DELETE(41).
  fx = h.feed({ kind: 'request', ingress: outsideIngress, request: ntalk(RequestType.DELETE, { id: rep.id, lName: 'bob', rName: 'alice' }) });
  assert.equal(one(fx, 'request').request.msg.id, 41);
});

test('GatewaySessions: a refused call never rings and the caller gets PERMISSION_DENIED', () => {
  const h = new Harness();
  const fx = h.feed({ kind: 'request', ingress: insideIngress(), request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'carol', rName: 'bob', addr: sockAddr('10.1.0.2', 2001) }) });
  assert.equal(only(fx, 'request').length, 0);
  assert.equal(only(fx, 'openDataPath').length, 0);
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.PERMISSION_DENIED);
  const refused = only(fx, 'audit').find((a) => a.record.event === 'refused');
  assert.equal(refused?.record['reason'], 'denied by policy rule #1');
  assert.equal(refused?.record['code'], 'policy-denied', 'a typed code beside the text');
  assert.equal(h.gw.size, 0);
});

test('GatewaySessions: unknown names, third-party addr and inside host names inbound are refused before anything is sent', () => {
  const h = new Harness();
  const cases: [Ingress, Partial<NtalkCtlMsg>, number, string][] = [
    [insideIngress(), { lName: 'alice', rName: 'nobody', addr: sockAddr('10.1.0.2', 1) }, Answer.NOT_HERE, 'no-directory-entry'],
    [insideIngress(), { lName: 'alice', rName: 'bob%nowhere', addr: sockAddr('10.1.0.2', 1) }, Answer.MACHINE_UNKNOWN, 'unknown-host'],
    [insideIngress(), { lName: 'alice', rName: 'bob%ws2', addr: sockAddr('10.1.0.2', 1) }, Answer.MACHINE_UNKNOWN, 'unknown-host'],
    [insideIngress(), { lName: 'alice', rName: 'bob', addr: sockAddr('10.1.0.77', 1) }, Answer.BADADDR, 'bad-addr'],
    [outsideIngress, { lName: 'bob', rName: 'alice%ws2', addr: sockAddr('198.51.100.2', 1) }, Answer.NOT_HERE, 'host-names-off'],
  ];
  for (const [ingress, f, answer, code] of cases) {
    const fx = h.feed({ kind: 'request', ingress, request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, ...f }) });
    assert.equal(only(fx, 'request').length + only(fx, 'openDataPath').length, 0, JSON.stringify(f));
    assert.equal(ntalkReply(one(fx, 'reply')).answer, answer, JSON.stringify(f));
    assert.equal(only(fx, 'audit').find((a) => a.record.event === 'refused')?.record['code'], code, JSON.stringify(f));
  }
});

test('GatewaySessions: version bridging probes ntalk, falls back to otalk and remembers', () => {
  const h = new Harness();
  const ann = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName: 'bob%otk', addr: sockAddr('10.1.0.2', 2001) });
  let fx = h.feed({ kind: 'request', ingress: insideIngress(), request: ann });
  const callId = one(fx, 'openDataPath').request.callId;
  fx = h.feed({ kind: 'dataPathOpened', callId, result: { ok: true, address: '198.51.100.1', port: 40002 } });
  assert.deepEqual(one(fx, 'request').to, { address: '198.51.100.3', port: 518 });
  fx = h.tick(GATEWAY_CTL_WAIT_MS);
  const probe = one(fx, 'request');
  assert.deepEqual([probe.to.port, probe.request.protocol], [517, 'otalk']);
  const msg = probe.request.msg as OtalkCtlMsg;
  assert.equal(msg.lName, 'alice');
  fx = h.feed({ kind: 'response', side: 'outside', source: { address: '198.51.100.3', port: 517 }, response: { protocol: 'otalk', msg: { byteOrder: 'big', layout: 'padded', type: 3, answer: 0, id: 3, addr: NO_ADDR } } });
  const rep = one(fx, 'reply');
  assert.equal(rep.response.protocol, 'ntalk', 'the ntalk caller is answered in ntalk');
  assert.equal(rep.response.msg.answer, Answer.SUCCESS);
  // A second call to the same host (another callee: one address rings a callee once) goes straight to otalk.
  const ann2 = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName: 'carl%otk', addr: sockAddr('10.1.0.2', 2002) });
  const fx2 = h.feed({ kind: 'request', ingress: { ...insideIngress(), source: { address: '10.1.0.2', port: 3999 } }, request: ann2 });
  const id2 = one(fx2, 'openDataPath').request.callId;
  const fx3 = h.feed({ kind: 'dataPathOpened', callId: id2, result: { ok: true, address: '198.51.100.1', port: 40003 } });
  assert.deepEqual(one(fx3, 'request').to, { address: '198.51.100.3', port: 517 });
});

test('GatewaySessions: an otalk caller is answered in its own byte order; long names are cut to fit', () => {
  const h = new Harness();
  const req: AnyRequest = {
    protocol: 'otalk',
    msg: { byteOrder: 'little', type: RequestType.ANNOUNCE, id: IMPOSSIBLE_ID, addr: sockAddr('10.1.0.2', 2001), ctlAddr: sockAddr('10.1.0.2', 3001), pid: 1, lName: 'alice', rName: 'bob', rTty: '' },
  };
  const fx = h.feed({ kind: 'request', ingress: insideIngress('otalk'), request: req });
  const callId = one(fx, 'openDataPath').request.callId;
  h.feed({ kind: 'dataPathOpened', callId, result: { ok: true, address: '198.51.100.1', port: 40004 } });
  const fx2 = h.feed({ kind: 'response', side: 'outside', source: { address: '198.51.100.2', port: 518 }, response: { protocol: 'ntalk', msg: { version: 1, type: 3, answer: Answer.BADADDR, id: 0, addr: NO_ADDR } } });
  const rep = one(fx2, 'reply');
  assert.equal(rep.response.protocol, 'otalk');
  if (rep.response.protocol === 'otalk') {
    assert.equal(rep.response.msg.byteOrder, 'little');
    assert.equal(rep.response.msg.answer, Answer.FAILED, 'otalk has no BADADDR');
  }
  assert.equal(only(fx2, 'closeDataPath').length, 1);
  assert.equal(h.gw.size, 0);
});

test('GatewaySessions: a ringing call expires after MAX_LIFE and a cancelled one closes its data path', () => {
  const h = new Harness();
  const { callId, clientId } = ringOutbound(h);
  let fx = h.tick(MAX_LIFE_MS + 1);
  assert.deepEqual(one(fx, 'closeDataPath'), { kind: 'closeDataPath', callId });
  assert.equal(h.gw.size, 0);
  // DELETE of a gone call: NOT_HERE.
  fx = h.feed({ kind: 'request', ingress: insideIngress(), request: ntalk(RequestType.DELETE, { id: clientId, lName: 'alice' }) });
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.NOT_HERE);

  const h2 = new Harness();
  const c2 = ringOutbound(h2);
  fx = h2.feed({ kind: 'request', ingress: insideIngress(), request: ntalk(RequestType.DELETE, { id: c2.clientId, lName: 'alice' }) });
  assert.equal(one(fx, 'closeDataPath').callId, c2.callId);
  assert.equal(one(fx, 'request').request.msg.type, RequestType.DELETE);
});

test('GatewaySessions: max_calls and per-source rate limits bound the table', () => {
  const h = new Harness(config('\n[limits]\nmax_calls = 2\nside_reserve = 0\nrate = 1\nburst = 3\n'));
  const answers: number[] = [];
  for (let i = 0; i < 3; i++) {
    const fx = h.feed({ kind: 'request', ingress: { ...insideIngress(), source: { address: '10.1.0.2', port: 5000 + i } }, request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName: ['bob', 'x%otk', 'y%otk'][i] ?? '', pid: i, addr: sockAddr('10.1.0.2', 2001) }) });
    answers.push(...only(fx, 'reply').map((r) => r.response.msg.answer));
  }
  assert.deepEqual(answers, [Answer.FAILED], 'the third call is refused');
  const fx = h.feed({ kind: 'request', ingress: insideIngress(), request: ntalk(RequestType.LOOK_UP, { lName: 'alice', rName: 'x' }) });
  assert.deepEqual(fx.filter((e) => e.kind !== 'count'), [], 'over its rate, a source is dropped silently');
});

test('GatewaySessions: requests from the wrong side are dropped (anti-spoofing)', () => {
  const h = new Harness();
  const fx = h.feed({ kind: 'request', ingress: { side: 'outside', protocol: 'ntalk', source: { address: '10.1.0.5', port: 1 } }, request: ntalk(RequestType.LOOK_UP, { lName: 'a', rName: 'b' }) });
  assert.equal(only(fx, 'reply').length, 0);
});

test('reconfigure() (SIGHUP) keeps a ringing call alive and applies the new policy to the next call only', () => {
  const h = new Harness();
  const { callId } = ringOutbound(h);
  // The reloaded configuration denies every outbound call from alice (first match wins).
  const reloaded = parseGatewayConfig(
    TOML.replace('[[policy]]\naction = "deny"\nuser = "carol"', '[[policy]]\naction = "deny"\ndirection = "outbound"\nuser = "alice"'),
    'reload',
  );
  assert.ok(reloaded.ok && reloaded.config.policy[0]?.user === 'alice');
  h.gw.reconfigure(reloaded.config);
  assert.ok(h.gw.status().calls.some((c) => c.callId === callId && c.state === 'ringing'), 'the live call survived the reload');
  // bob looks the call up and the data path connects: the old call still works end to end
  let fx = h.feed({ kind: 'request', ingress: outsideIngress, request: ntalk(RequestType.LOOK_UP, { lName: 'bob', rName: 'alice', ctlAddr: sockAddr('198.51.100.2', 4001) }) });
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.SUCCESS);
  fx = h.feed({ kind: 'dataPathConnected', callId, peer: '198.51.100.2:5555', target: '10.1.0.2:2001' });
  assert.equal(one(fx, 'audit').record.event, 'connected');
  // a new call from alice (another client pid) is refused by the reloaded policy, before anything rings
  const again = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, pid: 999, lName: 'alice', rName: 'bob%rc-out', addr: sockAddr('10.1.0.2', 2002), ctlAddr: sockAddr('10.1.0.2', 3001) });
  fx = h.feed({ kind: 'request', ingress: insideIngress(), request: again });
  assert.equal(ntalkReply(one(fx, 'reply')).answer, Answer.PERMISSION_DENIED);
  assert.equal(only(fx, 'openDataPath').length, 0);
  assert.equal(only(fx, 'request').length, 0);
  assert.equal(h.gw.status().calls.find((c) => c.callId === callId)?.state, 'connected');
});

test('a gateway restarted later does not hand out the call ids the previous run just used', () => {
  const announce = (gw: GatewaySessions, pid: number): string => {
    const fx = gw.handle({
      kind: 'request',
      ingress: insideIngress(),
      request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, pid, lName: 'alice', rName: `u${pid}%rc-out`, addr: sockAddr('10.1.0.2', 2001 + pid), ctlAddr: sockAddr('10.1.0.2', 3001) }),
    });
    return one(fx, 'openDataPath').request.callId;
  };
  const clock = new ManualClock();
  const first = new GatewaySessions({ config: config(), clock });
  const used = [1, 2, 3].map((p) => announce(first, p));
  for (const id of used) assert.match(id, /^c-\d{6}$/);
  clock.advance(5_000); // killed and restarted five seconds later
  const second = new GatewaySessions({ config: config(), clock });
  const next = announce(second, 4);
  assert.ok(!used.includes(next), `${next} repeats one of ${used.join(', ')}`);
});
