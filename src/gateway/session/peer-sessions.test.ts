/**
 * The session core with peer gateways (issue 15): a peer speaks over its authenticated link only,
 * a peered call's data path is a TLS relay leg, both call ids reach the audit log, a failed link
 * refuses the call before anyone is rung, and a call answered through a chained gateway survives
 * the caller's DELETE that follows its accept().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { Answer, NO_ADDR, RequestType, type NtalkCtlMsg } from '../../protocol/talk-types.js';
import { IMPOSSIBLE_ID } from '../../protocol/constants.js';
import { sockAddr } from '../../protocol/index.js';
import { GatewaySessions } from './gateway-sessions.js';
import type { AnyRequest, Effect, Ingress, SessionInput } from './session-types.js';

const PEER = '192.0.2.2';
const TOML = `
[inside]
address = "10.9.0.1"
networks = ["10.9.0.0/24"]
[outside]
address = "192.0.2.1"
dns = false
[directory]
alice = "alice@10.9.0.2"
[[policy]]
action = "allow"
[peering]
cert = "/x/gw1.crt"
key = "/x/gw1.key"
ca = "/x/ca.crt"
[[peering.peers]]
name = "gw2"
address = "${PEER}"
`;

function core(): { gw: GatewaySessions; feed: (i: SessionInput) => Effect[] } {
  const r = parseGatewayConfig(TOML, 'test');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const gw = new GatewaySessions({ config: r.config, clock: new ManualClock() });
  return { gw, feed: (i) => gw.handle(i) };
}

function ntalk(type: number, f: Partial<NtalkCtlMsg>): AnyRequest {
  return { protocol: 'ntalk', msg: { version: 1, type, id: 0, addr: NO_ADDR, ctlAddr: NO_ADDR, pid: 7, lName: '', rName: '', rTty: '', ...f } };
}
function of<K extends Effect['kind']>(fx: Effect[], kind: K): Extract<Effect, { kind: K }>[] {
  return fx.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
}

const fromPeerUdp: Ingress = { side: 'outside', protocol: 'ntalk', source: { address: PEER, port: 40001 } };
const fromPeerLink: Ingress = { ...fromPeerUdp, face: 'peer:gw2:1', peer: { name: 'gw2', callId: 'c-000042' } };
const peerAnnounce = ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'bob', rName: 'alice', addr: sockAddr(PEER, 41000) });

test('GatewaySessions: an ANNOUNCE datagram from a peer gateway address (not over its link) is dropped, nobody is rung', () => {
  const { gw, feed } = core();
  const fx = feed({ kind: 'request', ingress: fromPeerUdp, request: peerAnnounce });
  assert.deepEqual(of(fx, 'reply'), [], 'no answer to a forged source');
  assert.deepEqual(of(fx, 'openDataPath'), []);
  assert.deepEqual(of(fx, 'audit'), [], 'no call was requested');
  assert.ok(of(fx, 'count').some((c) => c.counter === 'dropped_peer_datagram'));
  assert.ok(of(fx, 'log').some((l) => l.fields?.['code'] === 'peer-datagram'));
  assert.equal(gw.size, 0);
});

test('GatewaySessions: the same ANNOUNCE over the peer link is a call, relayed with a TLS leg to the peer, recording its call id', () => {
  const { feed } = core();
  const fx = feed({ kind: 'request', ingress: fromPeerLink, request: peerAnnounce });
  const requested = of(fx, 'audit')[0]?.record;
  assert.equal(requested?.event, 'requested');
  assert.deepEqual(requested?.['peerGateway'], { name: 'gw2', callId: 'c-000042' });
  const open = of(fx, 'openDataPath')[0]?.request;
  assert.deepEqual(open?.peerTls, { connect: 'gw2' }, 'the onward leg to the peer is TLS');
  assert.deepEqual(open?.target, { address: PEER, port: 41000 });
});

/** alice calls bob%gw2 up to the ANNOUNCE sent to the peer; returns the call id. */
function callThePeer(feed: (i: SessionInput) => Effect[]): string {
  const inside: Ingress = { side: 'inside', protocol: 'ntalk', source: { address: '10.9.0.2', port: 3001 } };
  let fx = feed({ kind: 'request', ingress: inside, request: ntalk(RequestType.ANNOUNCE, { id: IMPOSSIBLE_ID, lName: 'alice', rName: 'bob%gw2', addr: sockAddr('10.9.0.2', 2001) }) });
  const open = of(fx, 'openDataPath')[0]?.request;
  assert.ok(open !== undefined, 'the peer name resolves (no outside.hosts entry needed)');
  assert.deepEqual(open.peerTls, { listen: 'gw2' }, "the peer's leg into our listener is TLS");
  fx = feed({ kind: 'dataPathOpened', callId: open.callId, result: { ok: true, address: '192.0.2.1', port: 41000 } });
  assert.deepEqual(of(fx, 'request')[0]?.to, { address: PEER, port: 518 });
  return open.callId;
}

const peerAnswer = (answer: number, id = 3) => ({ protocol: 'ntalk' as const, msg: { version: 1, type: RequestType.ANNOUNCE, answer, id, addr: NO_ADDR } });

test("GatewaySessions: the peer's answer counts only over its link; then the rung record names the peer and its call id", () => {
  const { feed } = core();
  const callId = callThePeer(feed);
  let fx = feed({ kind: 'response', side: 'outside', source: { address: PEER, port: 518 }, response: peerAnswer(Answer.SUCCESS) });
  assert.deepEqual(of(fx, 'reply'), [], 'a forged answer from the peer address is ignored');
  assert.ok(of(fx, 'count').some((c) => c.counter === 'dropped_peer_datagram'));
  fx = feed({ kind: 'response', side: 'outside', source: { address: PEER, port: 518 }, response: peerAnswer(Answer.SUCCESS), peer: { name: 'gw2', callId: 'c-000077' } });
  const rung = of(fx, 'audit')[0]?.record;
  assert.equal(rung?.event, 'rung');
  assert.equal(rung?.callId, callId);
  assert.deepEqual(rung?.['peerGateway'], { name: 'gw2', callId: 'c-000077' });
});

test('GatewaySessions: a peer link that fails authentication refuses the call (FAILED, peer-unauthenticated) before anyone is rung', () => {
  const { gw, feed } = core();
  const callId = callThePeer(feed);
  const fx = feed({ kind: 'peerFailed', callId, code: 'peer-unauthenticated', detail: 'gw2: peer-wrong-name' });
  const reply = of(fx, 'reply')[0]?.response;
  assert.equal(reply?.msg.answer, Answer.FAILED);
  const refused = of(fx, 'audit').find((a) => a.record.event === 'refused')?.record;
  assert.equal(refused?.['code'], 'peer-unauthenticated');
  assert.ok(!of(fx, 'audit').some((a) => a.record.event === 'rung'));
  assert.equal(gw.size, 0);
});

test("GatewaySessions: a ringing call whose data path accepted the callee's side survives the caller's DELETE after accept()", () => {
  const { gw, feed } = core();
  const callId = callThePeer(feed);
  let fx = feed({ kind: 'response', side: 'outside', source: { address: PEER, port: 518 }, response: peerAnswer(Answer.SUCCESS), peer: { name: 'gw2' } });
  const clientId = of(fx, 'reply')[0]?.response.msg.id ?? 0;
  feed({ kind: 'dataPathAccepted', callId, from: `${PEER}:5555` });
  const inside: Ingress = { side: 'inside', protocol: 'ntalk', source: { address: '10.9.0.2', port: 3001 } };
  fx = feed({ kind: 'request', ingress: inside, request: ntalk(RequestType.DELETE, { id: clientId, lName: 'alice', rName: 'bob%gw2' }) });
  assert.deepEqual(of(fx, 'closeDataPath'), [], 'the answered call keeps its data path');
  assert.equal(gw.status().calls[0]?.state, 'answered');
});
