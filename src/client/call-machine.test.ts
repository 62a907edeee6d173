import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CallMachine, type CallConfig, type CallEffect, type Channel, type Endpoint } from './call-machine.js';
import { Answer, NO_ADDR, RequestType, type CtlResponse } from '../protocol/talk-types.js';
import { CTL_WAIT_MS, IMPOSSIBLE_ID, RING_WAIT_MS } from '../protocol/constants.js';
import { CTL_MAX_TRIES } from './client-constants.js';
import { sockAddr } from '../protocol/osockaddr.js';

const LOCAL: Endpoint = { address: '127.0.0.1', port: 518 };
const REMOTE: Endpoint = { address: '198.51.100.2', port: 518 };
const REMOTE_OTALK: Endpoint = { address: '198.51.100.2', port: 517 };

const cfg: CallConfig = {
  localName: 'alice',
  remoteName: 'bob',
  remoteTty: '',
  pid: 4553,
  localDaemon: LOCAL,
  remoteDaemon: REMOTE,
  remoteOtalkPort: 517,
  ctlAddr: {
    local: { address: '127.0.0.1', port: 35518 },
    remote: { address: '10.1.0.2', port: 50642 },
    'remote-otalk': { address: '10.1.0.2', port: 50643 },
  },
};

function reply(channel: Channel, type: number, answer: number, id: number, addr = NO_ADDR, version = 1) {
  const from = channel === 'local' ? LOCAL : channel === 'remote' ? REMOTE : REMOTE_OTALK;
  const response: CtlResponse & { version: number } = { type, answer, id, addr, version };
  return { kind: 'reply' as const, channel, from, response };
}

const sends = (fx: CallEffect[]) =>
  fx.flatMap((e) => (e.kind === 'send' ? [`${e.channel}/${e.protocol} ${RequestType.LOOK_UP === e.msg.type ? 'LOOK_UP' : e.msg.type === 3 ? 'ANNOUNCE' : e.msg.type === 0 ? 'LEAVE_INVITE' : 'DELETE'} id=${e.msg.id}`] : []));
const kinds = (fx: CallEffect[]) => fx.map((e) => (e.kind === 'status' ? `status ${e.text}` : e.kind === 'end' ? `end ${e.message}` : e.kind));

function toWaiting(m: CallMachine): void {
  m.handle({ kind: 'start' });
  m.handle(reply('remote', RequestType.LOOK_UP, Answer.NOT_HERE, 0));
  m.handle({ kind: 'listening', addr: { address: '10.1.0.2', port: 44111 } });
  m.handle(reply('remote', RequestType.ANNOUNCE, Answer.SUCCESS, 1));
  m.handle(reply('local', RequestType.LEAVE_INVITE, 89, 1)); // answer byte is garbage on netkit
}

test('CallMachine caller: LOOK_UP, listen, ANNOUNCE 0xFFFFFFFF, LEAVE_INVITE locally, re-announce id+1, DELETE both', () => {
  const m = new CallMachine(cfg);
  let fx = m.handle({ kind: 'start' });
  assert.deepEqual(sends(fx), ['remote/ntalk LOOK_UP id=0']);
  const look = fx.find((e) => e.kind === 'send');
  assert.ok(look?.kind === 'send');
  assert.deepEqual(look.msg.addr, sockAddr('10.1.0.2', 0));
  assert.deepEqual(look.msg.ctlAddr, sockAddr('10.1.0.2', 50642));
  assert.equal(look.msg.pid, 4553);
  assert.ok(fx.some((e) => e.kind === 'start-timer' && e.timer === 'ctl' && e.ms === CTL_WAIT_MS));

  fx = m.handle(reply('remote', RequestType.LOOK_UP, Answer.NOT_HERE, 0, { family: 0xe082, port: 4893, address: '58.127.0.0' }));
  assert.deepEqual(kinds(fx), ['cancel-timer', 'listen']);

  fx = m.handle({ kind: 'listening', addr: { address: '10.1.0.2', port: 44111 } });
  assert.deepEqual(sends(fx), [`remote/ntalk ANNOUNCE id=${IMPOSSIBLE_ID}`]);
  const ann = fx.find((e) => e.kind === 'send');
  assert.ok(ann?.kind === 'send');
  assert.deepEqual(ann.msg.addr, sockAddr('10.1.0.2', 44111));

  fx = m.handle(reply('remote', RequestType.ANNOUNCE, Answer.SUCCESS, 1));
  assert.deepEqual(sends(fx), [`local/ntalk LEAVE_INVITE id=${IMPOSSIBLE_ID}`]);
  const inv = fx.find((e) => e.kind === 'send');
  assert.ok(inv?.kind === 'send');
  assert.deepEqual(inv.msg.ctlAddr, sockAddr('127.0.0.1', 35518));
  assert.deepEqual(inv.msg.addr, sockAddr('10.1.0.2', 44111));

  fx = m.handle(reply('local', RequestType.LEAVE_INVITE, 177, 1));
  assert.ok(kinds(fx).includes('status [Waiting for your party to respond]'));
  assert.ok(fx.some((e) => e.kind === 'start-timer' && e.timer === 'ring' && e.ms === RING_WAIT_MS));
  assert.equal(m.state, 'waiting');

  fx = m.handle({ kind: 'timer', timer: 'ring' });
  assert.deepEqual(sends(fx), ['remote/ntalk ANNOUNCE id=2']);
  assert.ok(kinds(fx).includes('status [Ringing your party again]'));
  fx = m.handle(reply('remote', RequestType.ANNOUNCE, Answer.SUCCESS, 2));
  assert.deepEqual(sends(fx), ['local/ntalk LEAVE_INVITE id=2']);
  fx = m.handle(reply('local', RequestType.LEAVE_INVITE, 0, 1));
  assert.ok(fx.some((e) => e.kind === 'start-timer' && e.timer === 'ring'));

  fx = m.handle({ kind: 'accepted' });
  assert.deepEqual(sends(fx), ['local/ntalk DELETE id=1', 'remote/ntalk DELETE id=2']);
  assert.ok(fx.some((e) => e.kind === 'established' && e.role === 'caller'));
  assert.ok(kinds(fx).includes('status [Connection established]'));
  assert.equal(m.state, 'established');
});

test('CallMachine callee: LOOK_UP finds the invitation, connects; a refused connect deletes it and calls instead', () => {
  const m = new CallMachine(cfg);
  m.handle({ kind: 'start' });
  let fx = m.handle(reply('remote', RequestType.LOOK_UP, Answer.SUCCESS, 5, sockAddr('198.51.100.2', 40000)));
  assert.deepEqual(fx.filter((e) => e.kind === 'connect'), [{ kind: 'connect', addr: sockAddr('198.51.100.2', 40000) }]);
  fx = m.handle({ kind: 'connect-failed', refused: true, reason: 'ECONNREFUSED' });
  assert.deepEqual(sends(fx), ['remote/ntalk DELETE id=5']);
  assert.ok(fx.some((e) => e.kind === 'listen'));

  const m2 = new CallMachine(cfg);
  m2.handle({ kind: 'start' });
  m2.handle(reply('remote', RequestType.LOOK_UP, Answer.SUCCESS, 5, sockAddr('198.51.100.2', 40000)));
  fx = m2.handle({ kind: 'connected' });
  assert.ok(fx.some((e) => e.kind === 'established' && e.role === 'callee'));
  assert.equal(sends(fx).length, 0);
});

test('CallMachine resends every CTL_WAIT and gives up after CTL_MAX_TRIES with a message', () => {
  const m = new CallMachine({ ...cfg, remoteOtalkPort: null });
  let all = m.handle({ kind: 'start' });
  for (let i = 0; i < 20 && m.state !== 'done'; i++) all = all.concat(m.handle({ kind: 'timer', timer: 'ctl' }));
  assert.equal(sends(all).length, CTL_MAX_TRIES);
  const end = all.find((e) => e.kind === 'end');
  assert.ok(end?.kind === 'end');
  assert.equal(end.ok, false);
  assert.match(end.message, /No answer from your party's talk daemon at 198\.51\.100\.2 \(LOOK_UP\) after 10 s/);
  assert.deepEqual(m.handle({ kind: 'timer', timer: 'ctl' }), []);
});

test('CallMachine gives up on a silent local daemon and deletes the announcement it made', () => {
  const m = new CallMachine(cfg);
  m.handle({ kind: 'start' });
  m.handle(reply('remote', RequestType.LOOK_UP, Answer.NOT_HERE, 0));
  m.handle({ kind: 'listening', addr: { address: '10.1.0.2', port: 44111 } });
  m.handle(reply('remote', RequestType.ANNOUNCE, Answer.SUCCESS, 4));
  let fx: CallEffect[] = [];
  for (let i = 0; i < CTL_MAX_TRIES; i++) fx = m.handle({ kind: 'timer', timer: 'ctl' });
  assert.deepEqual(sends(fx), ['remote/ntalk DELETE id=4']);
  assert.match(kinds(fx).at(-1) ?? '', /^end \[No answer from your own talk daemon at 127\.0\.0\.1 \(LEAVE_INVITE\)/);
});

test('CallMachine falls back to otalk when the callee daemon is silent on 518 and answers on 517', () => {
  const m = new CallMachine(cfg);
  let fx = m.handle({ kind: 'start' });
  assert.deepEqual(sends(fx), ['remote/ntalk LOOK_UP id=0']);
  fx = m.handle({ kind: 'timer', timer: 'ctl' });
  assert.deepEqual(sends(fx), ['remote/ntalk LOOK_UP id=0', 'remote-otalk/otalk LOOK_UP id=0']);
  // An ntalk-shaped reply on the otalk channel is fine (no version there); it decides otalk.
  fx = m.handle(reply('remote-otalk', RequestType.LOOK_UP, Answer.NOT_HERE, 0, NO_ADDR, 0));
  assert.equal(m.remoteProtocol, 'otalk');
  fx = m.handle({ kind: 'listening', addr: { address: '10.1.0.2', port: 44111 } });
  assert.deepEqual(sends(fx), [`remote-otalk/otalk ANNOUNCE id=${IMPOSSIBLE_ID}`]);
  // A late ntalk reply is not accepted any more.
  fx = m.handle(reply('remote', RequestType.ANNOUNCE, Answer.SUCCESS, 1));
  assert.deepEqual(fx, []);
  fx = m.handle(reply('remote-otalk', RequestType.ANNOUNCE, Answer.SUCCESS, 1, NO_ADDR, 0));
  assert.deepEqual(sends(fx), [`local/ntalk LEAVE_INVITE id=${IMPOSSIBLE_ID}`]);
});

test('CallMachine switches to otalk at once when 518 is unreachable (ICMP), and ends if both are', () => {
  const m = new CallMachine(cfg);
  m.handle({ kind: 'start' });
  const fx = m.handle({ kind: 'unreachable', channel: 'remote' });
  assert.deepEqual(sends(fx), ['remote-otalk/otalk LOOK_UP id=0']);
  const end = m.handle({ kind: 'unreachable', channel: 'remote-otalk' });
  assert.match(kinds(end).at(-1) ?? '', /^end \[No talk daemon at 198\.51\.100\.2:518/);

  const n = new CallMachine({ ...cfg, remoteOtalkPort: null });
  n.handle({ kind: 'start' });
  assert.match(kinds(n.handle({ kind: 'unreachable', channel: 'remote' })).at(-1) ?? '', /^end \[No talk daemon/);
});

test('CallMachine maps refusal answers to the classic messages', () => {
  const cases: [number, string][] = [
    [Answer.NOT_HERE, '[Your party is not logged on]'],
    [Answer.PERMISSION_DENIED, '[Your party is refusing messages]'],
    [Answer.MACHINE_UNKNOWN, '[Target machine does not recognize us]'],
    [Answer.FAILED, '[Target machine is too confused to talk to us]'],
  ];
  for (const [answer, text] of cases) {
    const m = new CallMachine(cfg);
    m.handle({ kind: 'start' });
    m.handle(reply('remote', RequestType.LOOK_UP, Answer.NOT_HERE, 0));
    m.handle({ kind: 'listening', addr: { address: '10.1.0.2', port: 44111 } });
    const fx = m.handle(reply('remote', RequestType.ANNOUNCE, answer, 0));
    assert.deepEqual(fx.at(-1), { kind: 'end', ok: false, message: text });
    assert.equal(m.state, 'done');
  }
});

test('CallMachine ignores replies of the wrong type, version, channel or source', () => {
  const m = new CallMachine(cfg);
  m.handle({ kind: 'start' });
  assert.deepEqual(m.handle(reply('remote', RequestType.ANNOUNCE, Answer.SUCCESS, 0)), []);
  assert.deepEqual(m.handle(reply('remote', RequestType.LOOK_UP, Answer.SUCCESS, 0, NO_ADDR, 2)), []);
  assert.deepEqual(m.handle(reply('local', RequestType.LOOK_UP, Answer.SUCCESS, 0)), []);
  const spoofed = { ...reply('remote', RequestType.LOOK_UP, Answer.SUCCESS, 9, sockAddr('203.0.113.9', 1)), from: { address: '203.0.113.9', port: 518 } };
  assert.deepEqual(m.handle(spoofed), []);
  assert.equal(m.state, 'checking');
});

test('CallMachine: quit while waiting deletes both invitations; quit after connect just ends', () => {
  const m = new CallMachine(cfg);
  toWaiting(m);
  const fx = m.handle({ kind: 'quit' });
  assert.deepEqual(sends(fx), ['local/ntalk DELETE id=1', 'remote/ntalk DELETE id=1']);
  assert.equal(m.state, 'done');
  const e = new CallMachine(cfg);
  toWaiting(e);
  e.handle({ kind: 'accepted' });
  assert.deepEqual(e.handle({ kind: 'quit' }), [{ kind: 'end', ok: true, message: '[Connection closing. Exiting]' }]);
});

test('CallMachine: a lost re-announce reply keeps the call waiting instead of ending it', () => {
  const m = new CallMachine(cfg);
  toWaiting(m);
  m.handle({ kind: 'timer', timer: 'ring' });
  let fx: CallEffect[] = [];
  for (let i = 0; i < CTL_MAX_TRIES; i++) fx = m.handle({ kind: 'timer', timer: 'ctl' });
  assert.equal(m.state, 'waiting');
  assert.ok(fx.some((e) => e.kind === 'start-timer' && e.timer === 'ring'));
});

test('CallMachine: only timers after start always end within the bound (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('ctl', 'ring'), { minLength: 40, maxLength: 60 }), fc.boolean(), (timers, otalk) => {
      const m = new CallMachine({ ...cfg, remoteOtalkPort: otalk ? 517 : null });
      m.handle({ kind: 'start' });
      let ctlFired = 0;
      for (const t of timers) {
        if (m.state === 'done') break;
        if (t === 'ctl') ctlFired++;
        m.handle({ kind: 'timer', timer: t });
      }
      assert.ok(m.state === 'done' || ctlFired < CTL_MAX_TRIES);
    }),
  );
});

test('CallMachine arms the retry timer at CTL_WAIT (2 s) for every send, so the give-up bound is CTL_MAX_TRIES × 2 s', () => {
  assert.equal(CTL_WAIT_MS, 2_000);
  const m = new CallMachine({ ...cfg, remoteOtalkPort: null });
  let all = m.handle({ kind: 'start' });
  for (let i = 0; i < 20 && m.state !== 'done'; i++) all = all.concat(m.handle({ kind: 'timer', timer: 'ctl' }));
  const timers = all.filter((e) => e.kind === 'start-timer');
  assert.equal(timers.length, CTL_MAX_TRIES, 'one retry timer per send, none after the last');
  for (const t of timers) assert.deepEqual(t, { kind: 'start-timer', timer: 'ctl', ms: CTL_WAIT_MS });
  // Each send is followed by its timer: send, timer, send, timer, ..., end.
  const order = all.filter((e) => e.kind === 'send' || e.kind === 'start-timer' || e.kind === 'end').map((e) => e.kind);
  assert.deepEqual(order, [...Array.from({ length: CTL_MAX_TRIES }, () => ['send', 'start-timer']).flat(), 'end']);
});
