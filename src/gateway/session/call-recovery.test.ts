import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { Answer, NO_ADDR, RequestType, type NtalkCtlMsg } from '../../protocol/talk-types.js';
import { sockAddr } from '../../protocol/index.js';
import { GatewaySessions } from './gateway-sessions.js';
import { ClassicalRouter } from './call-router.js';
import { recoveryNames } from './call-recovery.js';
import type { AnyRequest, Effect, Ingress } from './session-types.js';

const TOML = `
[inside]
address = "10.1.0.1"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
hosts = { "rc-out" = "198.51.100.2" }
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
const HA = '[ha]\nconntrackd = ""\n';

function config(extra = HA): GatewayConfig {
  const r = parseGatewayConfig(TOML + extra, 'test');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config;
}

const bobIngress: Ingress = { side: 'outside', protocol: 'ntalk', source: { address: '198.51.100.2', port: 4001 } };

function lookUp(lName: string, rName: string): AnyRequest {
  return { protocol: 'ntalk', msg: { version: 1, type: RequestType.LOOK_UP, id: 0, addr: sockAddr('198.51.100.2', 0), ctlAddr: sockAddr('198.51.100.2', 4001), pid: 9, lName, rName, rTty: '' } satisfies NtalkCtlMsg };
}

function only<K extends Effect['kind']>(fx: Effect[], kind: K): Extract<Effect, { kind: K }>[] {
  return fx.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
}

function daemonAnswer(gw: GatewaySessions, answer: number, addr = sockAddr('10.1.0.2', 2001)): Effect[] {
  return gw.handle({ kind: 'response', side: 'inside', source: { address: '10.1.0.2', port: 518 }, response: { protocol: 'ntalk', msg: { version: 1, type: RequestType.LOOK_UP, answer, id: 7, addr } } });
}

test('recoveryNames() lists the directory logins and user%host names that lead to exactly that callee', () => {
  const c = config();
  const r = new ClassicalRouter(c);
  assert.deepEqual(recoveryNames(c, r, 'outside', 'bob', '198.51.100.2'), ['bob', 'bob%rc-out']);
  assert.deepEqual(recoveryNames(c, r, 'outside', 'bob', '198.51.100.9'), []);
  assert.deepEqual(recoveryNames(c, r, 'inside', 'alice', '10.1.0.2'), ['alice']);
});

test('[ha] a LOOK_UP for a call this node never saw: the caller\'s daemon is asked, a data path opened, the callee answered with it; nobody is rung', () => {
  const gw = new GatewaySessions({ config: config(), clock: new ManualClock() });
  let fx = gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'alice') });
  assert.equal(only(fx, 'reply').length, 0, 'the callee waits for the rebuild');
  const ask = only(fx, 'request');
  assert.equal(ask.length, 1);
  assert.deepEqual(ask[0]?.to, { address: '10.1.0.2', port: 518 });
  assert.equal(ask[0]?.side, 'inside');
  const m = ask[0]?.request.msg;
  // talkd's find_match: the invitation's l_name (alice) is the request's r_name and vice versa.
  assert.deepEqual([m?.type, m?.lName, m?.rName], [RequestType.LOOK_UP, 'bob', 'alice']);
  // The callee's client resends its LOOK_UP meanwhile: absorbed, not asked twice.
  fx = gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'alice') });
  assert.equal(fx.filter((e) => e.kind === 'request' || e.kind === 'reply').length, 0);
  fx = daemonAnswer(gw, Answer.SUCCESS);
  const open = only(fx, 'openDataPath')[0]?.request;
  assert.deepEqual(
    { listen: open?.listenAddress, peer: open?.expectedPeer, target: open?.target, bind: open?.bindAddress },
    { listen: '198.51.100.1', peer: '198.51.100.2', target: { address: '10.1.0.2', port: 2001 }, bind: '10.1.0.1' },
  );
  assert.equal(only(fx, 'audit')[0]?.record['rebuilt'], true);
  fx = gw.handle({ kind: 'dataPathOpened', callId: open?.callId ?? '', result: { ok: true, address: '198.51.100.1', port: 41003 } });
  assert.equal(only(fx, 'request').length, 0, 'no ANNOUNCE: the callee has already been rung');
  const reply = only(fx, 'reply')[0];
  assert.equal(reply?.ingress.source.address, '198.51.100.2');
  assert.equal(reply?.response.msg.answer, Answer.SUCCESS);
  assert.deepEqual(reply?.response.msg.addr, sockAddr('198.51.100.1', 41003));
  assert.equal(gw.status().calls[0]?.state, 'answered');
  // The same LOOK_UP again now finds the call.
  fx = gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'alice') });
  assert.deepEqual(only(fx, 'reply')[0]?.response.msg.addr, sockAddr('198.51.100.1', 41003));
});

test('[ha] a rebuilt call never connects to a third host: an invitation whose addr is not the caller\'s host is refused (NOT_HERE, no data path)', () => {
  const gw = new GatewaySessions({ config: config(), clock: new ManualClock() });
  gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'alice') });
  const fx = daemonAnswer(gw, Answer.SUCCESS, sockAddr('10.1.0.9', 22));
  assert.equal(only(fx, 'openDataPath').length, 0);
  assert.equal(only(fx, 'reply')[0]?.response.msg.answer, Answer.NOT_HERE);
  assert.equal(gw.size, 0);
});

test('[ha] only the callee host a directory entry leads to starts a rebuild; anyone else gets NOT_HERE and nothing is asked', () => {
  const gw = new GatewaySessions({ config: config(), clock: new ManualClock() });
  const fx = gw.handle({ kind: 'request', ingress: { ...bobIngress, source: { address: '198.51.100.9', port: 4001 } }, request: lookUp('bob', 'alice') });
  assert.equal(only(fx, 'request').length, 0);
  assert.equal(only(fx, 'reply')[0]?.response.msg.answer, Answer.NOT_HERE);
});

test('[ha] policy still applies to a rebuilt call (carol is denied): the callee gets PERMISSION_DENIED, no data path', () => {
  const r = parseGatewayConfig(TOML.replace('[[policy]]', 'carol = "carol@10.1.0.2"\n[[policy]]') + HA, 'test');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const gw = new GatewaySessions({ config: r.config, clock: new ManualClock() });
  gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'carol') });
  const fx = daemonAnswer(gw, Answer.SUCCESS);
  assert.equal(only(fx, 'openDataPath').length, 0);
  assert.equal(only(fx, 'reply')[0]?.response.msg.answer, Answer.PERMISSION_DENIED);
});

test('[ha] the caller\'s daemon has no invitation under any name: the callee gets NOT_HERE after each name was tried', () => {
  const gw = new GatewaySessions({ config: config(), clock: new ManualClock() });
  gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'alice') });
  let fx = daemonAnswer(gw, Answer.NOT_HERE);
  assert.equal(only(fx, 'request')[0]?.request.msg.lName, 'bob%rc-out', 'the next name is tried');
  fx = daemonAnswer(gw, Answer.NOT_HERE);
  assert.equal(only(fx, 'reply')[0]?.response.msg.answer, Answer.NOT_HERE);
});

test('without [ha] a LOOK_UP for an unknown call is NOT_HERE at once, nothing is asked', () => {
  const gw = new GatewaySessions({ config: config(''), clock: new ManualClock() });
  const fx = gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'alice') });
  assert.equal(only(fx, 'request').length, 0);
  assert.equal(only(fx, 'reply')[0]?.response.msg.answer, Answer.NOT_HERE);
  assert.deepEqual(only(fx, 'reply')[0]?.response.msg.addr, NO_ADDR);
});

test('[ha] a rebuild whose data path fails answers the waiting callee FAILED and frees its slot (a later LOOK_UP is rebuilt again)', () => {
  const gw = new GatewaySessions({ config: config(), clock: new ManualClock() });
  gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'alice') });
  const open = only(daemonAnswer(gw, Answer.SUCCESS), 'openDataPath')[0]?.request;
  const fx = gw.handle({ kind: 'dataPathOpened', callId: open?.callId ?? '', result: { ok: false, reason: 'quota', detail: 'no port' } });
  assert.equal(only(fx, 'reply')[0]?.response.msg.answer, Answer.FAILED);
  assert.equal(only(fx, 'reply')[0]?.ingress.source.address, '198.51.100.2');
  assert.equal(gw.size, 0);
  const again = gw.handle({ kind: 'request', ingress: bobIngress, request: lookUp('bob', 'alice') });
  assert.equal(only(again, 'request').length, 1, 'asked again');
});
