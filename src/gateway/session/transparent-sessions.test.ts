/**
 * GatewaySessions with intercepted requests (transparent mode): ingresses carry the original
 * destination, the core routes by it, replies keep the ingress (the adapter answers from the
 * original destination), inbound announces leave from the real caller's address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../shared/clock.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { Answer, NO_ADDR, RequestType, type NtalkCtlMsg } from '../../protocol/talk-types.js';
import { IMPOSSIBLE_ID } from '../../protocol/constants.js';
import { encodeNtalkCtlMsg, encodeNtalkCtlResponse, sockAddr } from '../../protocol/index.js';
import { GatewaySessions } from './gateway-sessions.js';
import type { AnyRequest, Effect, Ingress } from './session-types.js';

const TOML = `
mode = "transparent"
[inside]
address = "10.1.0.1"
interface = "inside"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
interface = "outside"
dns = false
[directory]
alice = "alice@10.1.0.2"
[[policy]]
action = "deny"
user = "carol"
[[policy]]
action = "allow"
`;

function core(): GatewaySessions {
  const r = parseGatewayConfig(TOML, 'test');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return new GatewaySessions({ config: r.config, clock: new ManualClock() });
}

function ntalk(type: number, f: Partial<NtalkCtlMsg>): AnyRequest {
  return { protocol: 'ntalk', msg: { version: 1, type, id: 0, addr: NO_ADDR, ctlAddr: NO_ADDR, pid: 777, lName: '', rName: '', rTty: '', ...f } };
}
function only<K extends Effect['kind']>(fx: Effect[], kind: K): Extract<Effect, { kind: K }>[] {
  return fx.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
}
function one<K extends Effect['kind']>(fx: Effect[], kind: K): Extract<Effect, { kind: K }> {
  const xs = only(fx, kind);
  assert.equal(xs.length, 1, `expected one ${kind}, got ${JSON.stringify(fx.map((e) => e.kind))}`);
  return xs[0] as Extract<Effect, { kind: K }>;
}
function answerOf(e: Extract<Effect, { kind: 'reply' }>): { answer: number; id: number; addr: unknown } {
  assert.equal(e.response.protocol, 'ntalk');
  return e.response.msg;
}
const respond = (answer: number, id: number, type = RequestType.ANNOUNCE) =>
  ({ protocol: 'ntalk', msg: { version: 1, type, answer, id, addr: NO_ADDR } }) as const;

/** alice@10.1.0.2 runs `talk bob@198.51.100.2`; the gateway intercepts on the inside. */
const aliceToBob: Ingress = {
  side: 'inside',
  protocol: 'ntalk',
  source: { address: '10.1.0.2', port: 3001 },
  originalDestination: { address: '198.51.100.2', port: 518 },
  face: 'transparent',
};
/** bob@198.51.100.2 runs `talk alice@10.1.0.2` (inside routable); intercepted on the outside. */
const bobToAlice: Ingress = {
  side: 'outside',
  protocol: 'ntalk',
  source: { address: '198.51.100.2', port: 4001 },
  originalDestination: { address: '10.1.0.2', port: 518 },
  face: 'transparent',
};

test('transparent outbound: routed to the original destination, everything outside from the gateway, answered by the classical face', () => {
  const gw = core();
  // check_local: LOOK_UP to bob's daemon, intercepted: nothing waits → NOT_HERE, reply keeps the ingress.
  let fx = gw.handle({ kind: 'request', ingress: aliceToBob, request: ntalk(RequestType.LOOK_UP, { lName: 'alice', rName: 'bob' }) });
  const nh = one(fx, 'reply');
  assert.equal(answerOf(nh).answer, Answer.NOT_HERE);
  assert.deepEqual(nh.ingress.originalDestination, { address: '198.51.100.2', port: 518 }, 'the adapter answers from the daemon alice addressed');

  const announce = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName: 'bob', addr: sockAddr('10.1.0.2', 2001), ctlAddr: sockAddr('10.1.0.2', 3001) });
  fx = gw.handle({ kind: 'request', ingress: aliceToBob, request: announce });
  const open = one(fx, 'openDataPath').request;
  assert.deepEqual([open.listenAddress, open.expectedPeer, open.bindAddress], ['198.51.100.1', '198.51.100.2', '10.1.0.1']);
  fx = gw.handle({ kind: 'dataPathOpened', callId: open.callId, result: { ok: true, address: '198.51.100.1', port: 40007 } });
  const req = one(fx, 'request');
  assert.equal(req.from, undefined, "outbound requests leave from the gateway's own outside socket");
  assert.deepEqual([req.side, req.to.address, req.to.port], ['outside', '198.51.100.2', 518]);
  assert.deepEqual([req.request.msg.lName, req.request.msg.rName], ['alice', 'bob']);
  assert.deepEqual(req.request.msg.addr, sockAddr('198.51.100.1', 40007));
  assert.equal(req.request.msg.ctlAddr.address, '198.51.100.1');
  const wire = encodeNtalkCtlMsg(req.request.msg as NtalkCtlMsg);
  assert.ok(!Buffer.from(wire).includes(Buffer.from([10, 1, 0])), 'no inside address in the forwarded ANNOUNCE');

  fx = gw.handle({ kind: 'response', side: 'outside', source: { address: '198.51.100.2', port: 518 }, response: respond(Answer.SUCCESS, 5) });
  const rung = one(fx, 'reply');
  assert.equal(answerOf(rung).answer, Answer.SUCCESS);
  assert.deepEqual(rung.ingress, aliceToBob, "the caller's answer goes back through the intercepting adapter");

  // bob answers with the printed `talk alice@<gateway outside>`: a classical LOOK_UP on the outside face.
  const faceLookup: Ingress = { side: 'outside', protocol: 'ntalk', source: { address: '198.51.100.2', port: 4001 } };
  fx = gw.handle({ kind: 'request', ingress: faceLookup, request: ntalk(RequestType.LOOK_UP, { lName: 'bob', rName: 'alice' }) });
  const found = answerOf(one(fx, 'reply'));
  assert.equal(found.answer, Answer.SUCCESS);
  assert.deepEqual(found.addr, sockAddr('198.51.100.1', 40007));

  // alice's DELETE(remote_id) to bob's daemon, intercepted → forwarded from the gateway with the daemon's id.
  fx = gw.handle({ kind: 'request', ingress: aliceToBob, request: ntalk(RequestType.DELETE, { id: answerOf(rung).id, lName: 'alice', rName: 'bob' }) });
  assert.equal(answerOf(one(fx, 'reply')).answer, Answer.SUCCESS);
  const del = one(fx, 'request');
  assert.deepEqual([del.request.msg.type, del.request.msg.id, del.from], [RequestType.DELETE, 5, undefined]);
});

test('transparent inbound: the inside daemon is announced from the real caller, who is answered through interception', () => {
  const gw = core();
  const announce = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'bob', rName: 'alice', addr: sockAddr('198.51.100.2', 2222), ctlAddr: sockAddr('198.51.100.2', 4001) });
  let fx = gw.handle({ kind: 'request', ingress: bobToAlice, request: announce });
  const open = one(fx, 'openDataPath').request;
  assert.deepEqual([open.listenAddress, open.expectedPeer, open.bindAddress, open.target.address], ['10.1.0.1', '10.1.0.2', '198.51.100.1', '198.51.100.2']);
  fx = gw.handle({ kind: 'dataPathOpened', callId: open.callId, result: { ok: true, address: '10.1.0.1', port: 40001 } });
  const fwd = one(fx, 'request');
  assert.equal(fwd.from, '198.51.100.2', 'sent from the real caller, so the announcement names bob@198.51.100.2');
  assert.deepEqual([fwd.side, fwd.to.address, fwd.request.msg.lName, fwd.request.msg.rName], ['inside', '10.1.0.2', 'bob', 'alice']);
  assert.equal(fwd.request.msg.ctlAddr.address, '198.51.100.2');

  fx = gw.handle({ kind: 'response', side: 'inside', source: { address: '10.1.0.2', port: 518 }, response: respond(Answer.SUCCESS, 41) });
  const rep = one(fx, 'reply');
  assert.equal(answerOf(rep).answer, Answer.SUCCESS);
  assert.deepEqual(rep.ingress.originalDestination, { address: '10.1.0.2', port: 518 });
  const wire = encodeNtalkCtlResponse(rep.response.msg as never);
  assert.ok(!Buffer.from(wire).includes(Buffer.from([10, 1, 0])), 'no inside address in the answer to bob');

  // alice answers `talk bob@198.51.100.2`: her LOOK_UP to bob's daemon is intercepted on the inside.
  const aliceLookup: Ingress = { ...aliceToBob, source: { address: '10.1.0.2', port: 3333 } };
  fx = gw.handle({ kind: 'request', ingress: aliceLookup, request: ntalk(RequestType.LOOK_UP, { lName: 'alice', rName: 'bob' }) });
  const found = one(fx, 'reply');
  assert.equal(answerOf(found).answer, Answer.SUCCESS);
  assert.deepEqual(answerOf(found).addr, sockAddr('10.1.0.1', 40001));
  assert.deepEqual(found.ingress.originalDestination, { address: '198.51.100.2', port: 518 });

  // The same LOOK_UP intercepted toward another outside host does not find bob's call.
  fx = gw.handle({ kind: 'request', ingress: { ...aliceLookup, originalDestination: { address: '198.51.100.3', port: 518 } }, request: ntalk(RequestType.LOOK_UP, { lName: 'alice', rName: 'bob' }) });
  assert.equal(answerOf(one(fx, 'reply')).answer, Answer.NOT_HERE);

  // bob's accept() returned: his DELETE(remote_id) to alice's daemon is forwarded from bob's address.
  fx = gw.handle({ kind: 'request', ingress: bobToAlice, request: ntalk(RequestType.DELETE, { id: answerOf(rep).id, lName: 'bob', rName: 'alice' }) });
  const del = one(fx, 'request');
  assert.deepEqual([del.request.msg.type, del.request.msg.id, del.from], [RequestType.DELETE, 41, '198.51.100.2']);
});

test('transparent: a LOOK_UP on the face does not find an intercepted inbound call, and an intercepted one does not find a classical call', () => {
  const gw = core();
  // classical inbound: bob calls `alice@<gateway>` (directory) → presented as bob (no hosts table).
  const faceIngress: Ingress = { side: 'outside', protocol: 'ntalk', source: { address: '198.51.100.2', port: 4001 } };
  let fx = gw.handle({ kind: 'request', ingress: faceIngress, request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'bob', rName: 'alice', addr: sockAddr('198.51.100.2', 2222) }) });
  const open = one(fx, 'openDataPath').request;
  fx = gw.handle({ kind: 'dataPathOpened', callId: open.callId, result: { ok: true, address: '10.1.0.1', port: 40002 } });
  assert.equal(one(fx, 'request').from, undefined, 'classical inbound still comes from the gateway');
  gw.handle({ kind: 'response', side: 'inside', source: { address: '10.1.0.2', port: 518 }, response: respond(Answer.SUCCESS, 3) });
  fx = gw.handle({ kind: 'request', ingress: aliceToBob, request: ntalk(RequestType.LOOK_UP, { lName: 'alice', rName: 'bob' }) });
  assert.equal(answerOf(one(fx, 'reply')).answer, Answer.NOT_HERE);
  const insideFace: Ingress = { side: 'inside', protocol: 'ntalk', source: { address: '10.1.0.2', port: 3001 } };
  fx = gw.handle({ kind: 'request', ingress: insideFace, request: ntalk(RequestType.LOOK_UP, { lName: 'alice', rName: 'bob' }) });
  assert.equal(answerOf(one(fx, 'reply')).answer, Answer.SUCCESS);
});

test('transparent: policy still applies to intercepted calls (carol may not call out)', () => {
  const gw = core();
  const fx = gw.handle({
    kind: 'request',
    ingress: aliceToBob,
    request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'carol', rName: 'bob', addr: sockAddr('10.1.0.2', 2001) }),
  });
  assert.equal(answerOf(one(fx, 'reply')).answer, Answer.PERMISSION_DENIED);
  assert.equal(only(fx, 'request').length + only(fx, 'openDataPath').length, 0, 'a refused call never rings');
});

test('transparent: an intercepted datagram whose source is on the wrong side is dropped (spoofing)', () => {
  const gw = core();
  const fx = gw.handle({
    kind: 'request',
    ingress: { ...aliceToBob, source: { address: '198.51.100.9', port: 3001 } },
    request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName: 'bob', addr: sockAddr('198.51.100.9', 2001) }),
  });
  assert.equal(only(fx, 'reply').length, 0);
  assert.deepEqual(only(fx, 'count').map((c) => c.counter), ['requests', 'dropped_spoof']);
});

test('transparent: no datagram for the outside ever carries an inside address (property, random outbound calls)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 254 }), fc.integer({ min: 1024, max: 65535 }), fc.stringMatching(/^[a-z]{1,8}$/), (host, port, user) => {
      const gw = core();
      const ingress: Ingress = { ...aliceToBob, source: { address: `10.1.0.${host}`, port }, originalDestination: { address: '198.51.100.2', port: 518 } };
      let fx = gw.handle({ kind: 'request', ingress, request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: user, rName: 'bob', addr: sockAddr(`10.1.0.${host}`, port) }) });
      const open = only(fx, 'openDataPath')[0];
      if (open === undefined) return;
      fx = gw.handle({ kind: 'dataPathOpened', callId: open.request.callId, result: { ok: true, address: '198.51.100.1', port: 40000 } });
      for (const e of only(fx, 'request')) {
        assert.equal(e.side, 'outside');
        const bytes = Buffer.from(encodeNtalkCtlMsg({ ...e.request.msg, ctlAddr: sockAddr('198.51.100.1', 5000) } as never));
        assert.ok(!bytes.includes(Buffer.from([10, 1, 0, host])));
      }
    }),
    { numRuns: 50 },
  );
});
