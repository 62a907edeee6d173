import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../shared/clock.js';
import { Answer, RequestType, type SockAddrIn } from '../protocol/talk-types.js';
import { IMPOSSIBLE_ID } from '../protocol/constants.js';
import { InvitationTable } from './invitation-table.js';
import { processRequest, type DaemonRequest, type RequestContext } from './process-request.js';
import type { UserLookup } from './user-lookup.js';

const CALLER = '10.1.0.2';
const rendezvous: SockAddrIn = { family: 2, port: 44111, address: CALLER };
const ctl: SockAddrIn = { family: 2, port: 50642, address: CALLER };
const source = { address: CALLER, port: 50642 };

function msg(over: Partial<DaemonRequest> = {}): DaemonRequest {
  return {
    version: 1,
    type: RequestType.ANNOUNCE,
    id: IMPOSSIBLE_ID,
    addr: rendezvous,
    ctlAddr: ctl,
    pid: 4553,
    lName: 'alice',
    rName: 'bob',
    rTty: '',
    ...over,
  };
}

function context(over: Partial<RequestContext> & { user?: UserLookup } = {}): RequestContext {
  const clock = new ManualClock();
  return {
    flavour: 'ntalk',
    table: new InvitationTable({ clock, capacity: 16 }),
    clock,
    isLocalAddress: (a) => a === CALLER || a.startsWith('127.'),
    daemonHost: 'rc-out',
    callerHost: CALLER,
    user: { kind: 'found', tty: 'pts/0' },
    ...over,
  };
}

test('processRequest() answers BADVERSION to an ntalk request of version 2', () => {
  const r = processRequest(msg({ version: 2 }), source, context());
  assert.equal(r.response.answer, Answer.BADVERSION);
  assert.equal(r.announce, undefined);
});

test('processRequest() answers BADADDR and BADCTLADDR to wrong families (ntalk)', () => {
  assert.equal(processRequest(msg({ addr: { ...rendezvous, family: 0 } }), source, context()).response.answer, Answer.BADADDR);
  assert.equal(processRequest(msg({ ctlAddr: { ...ctl, family: 512 } }), source, context()).response.answer, Answer.BADCTLADDR);
});

test('processRequest() answers UNKNOWN_REQUEST to type 9, echoing the type', () => {
  const r = processRequest(msg({ type: 9 }), source, context());
  assert.deepEqual([r.response.type, r.response.answer], [9, Answer.UNKNOWN_REQUEST]);
});

test('processRequest() maps ntalk-only answers to FAILED for otalk', () => {
  const ctx = context({ flavour: 'otalk', isLocalAddress: (a) => a === CALLER });
  const r = processRequest(msg({ type: RequestType.LEAVE_INVITE, addr: { ...rendezvous, address: '192.0.2.1' } }), source, ctx);
  assert.equal(r.response.answer, Answer.FAILED);
});

test('processRequest() accepts LEAVE_INVITE only from a local source with a local addr', () => {
  const ctx = context({ isLocalAddress: (a) => a.startsWith('127.') });
  const remote = processRequest(msg({ type: RequestType.LEAVE_INVITE }), source, ctx);
  assert.equal(remote.response.answer, Answer.MACHINE_UNKNOWN);
  const badAddr = processRequest(msg({ type: RequestType.LEAVE_INVITE }), { address: '127.0.0.1', port: 1 }, ctx);
  assert.equal(badAddr.response.answer, Answer.BADADDR);
  assert.equal(ctx.table.size, 0);
});

test('processRequest() LEAVE_INVITE, LOOK_UP, DELETE: the classic rendezvous', () => {
  const ctx = context();
  const lookup = (): ReturnType<typeof processRequest> =>
    processRequest(msg({ type: RequestType.LOOK_UP, id: 0, lName: 'bob', rName: 'alice' }), source, ctx);
  assert.equal(lookup().response.answer, Answer.NOT_HERE);
  const leave = processRequest(msg({ type: RequestType.LEAVE_INVITE }), source, ctx);
  assert.deepEqual([leave.response.answer, leave.response.id], [Answer.SUCCESS, 1]);
  const again = processRequest(msg({ type: RequestType.LEAVE_INVITE }), source, ctx);
  assert.equal(again.response.id, 1, 'the same LEAVE_INVITE keeps its id');
  const found = lookup();
  assert.equal(found.response.answer, Answer.SUCCESS);
  assert.equal(found.response.id, 1);
  assert.deepEqual(found.response.addr, rendezvous);
  const del = processRequest(msg({ type: RequestType.DELETE, id: 1 }), source, ctx);
  assert.equal(del.response.answer, Answer.SUCCESS);
  assert.equal(processRequest(msg({ type: RequestType.DELETE, id: 1 }), source, ctx).response.answer, Answer.NOT_HERE);
  assert.equal(lookup().response.answer, Answer.NOT_HERE);
});

test('processRequest() ANNOUNCE rings once, ignores a duplicate, and rings again on a higher id', () => {
  const ctx = context();
  const first = processRequest(msg(), source, ctx);
  assert.equal(first.response.answer, Answer.SUCCESS);
  assert.equal(first.response.id, 1);
  assert.equal(first.announce?.tty, 'pts/0');
  const dup = processRequest(msg({ id: 1 }), source, ctx);
  assert.equal(dup.announce, undefined, 'id <= stored id: duplicate, no ring');
  assert.equal(dup.response.id, 1);
  const re = processRequest(msg({ id: 2 }), source, ctx);
  assert.ok(re.announce, 're-announce (remote_id + 1) rings again');
  assert.equal(re.response.id, 2, 'with a fresh id');
  const retrans = processRequest(msg({ id: IMPOSSIBLE_ID }), source, ctx);
  assert.ok(retrans.announce, 'ids compare as u32: 0xFFFFFFFF is greater, as in netkit');
});

test('processRequest() ANNOUNCE answers the user lookup outcome without touching the table', () => {
  for (const [user, code] of [
    [{ kind: 'not-here' }, Answer.NOT_HERE],
    [{ kind: 'permission-denied', reason: 'mesg-n' }, Answer.PERMISSION_DENIED],
    [{ kind: 'failed' }, Answer.FAILED],
  ] as const) {
    const ctx = context({ user });
    const r = processRequest(msg(), source, ctx);
    assert.equal(r.response.answer, code);
    assert.equal(r.announce, undefined);
    assert.equal(ctx.table.size, 0);
  }
});

test('processRequest() answers FAILED and reports table-full when the table is full of other sources at one entry', () => {
  const clock = new ManualClock();
  const ctx = context({ table: new InvitationTable({ clock, capacity: 1 }), clock });
  assert.equal(processRequest(msg({ pid: 1 }), source, ctx).response.answer, Answer.SUCCESS);
  const other = '10.1.0.3';
  const r = processRequest(msg({ pid: 2, ctlAddr: { ...ctl, address: other } }), { address: other, port: ctl.port }, ctx);
  assert.equal(r.response.answer, Answer.FAILED);
  assert.deepEqual(r.events, [{ event: 'table-full', capacity: 1 }]);
  assert.equal(r.announce, undefined);
});

test('processRequest() a source at its share replaces its own oldest invitation and reports it', () => {
  const clock = new ManualClock();
  const ctx = context({ table: new InvitationTable({ clock, capacity: 4, maxPerSource: 1 }), clock });
  const first = processRequest(msg({ pid: 1 }), source, ctx);
  const r = processRequest(msg({ pid: 2 }), source, ctx);
  assert.equal(r.response.answer, Answer.SUCCESS);
  assert.ok(r.announce);
  assert.deepEqual(r.events, [
    { event: 'invitation-replaced', id: first.response.id, reason: 'source-share', source: CALLER },
    { event: 'invitation-stored', id: r.response.id },
  ]);
});

test('processRequest() reports a ctl_addr that differs from the source', () => {
  const r = processRequest(msg({ type: RequestType.LOOK_UP, ctlAddr: { family: 2, port: 9, address: '203.0.113.9' } }), source, context());
  assert.deepEqual(r.events, [{ event: 'ctl-addr-differs', ctlAddr: '203.0.113.9:9' }]);
});

test('processRequest() announcement text names the caller and the resolved host, sanitised', () => {
  const r = processRequest(msg({ lName: 'ev\x1b[2Jil' }), source, context({ callerHost: 'host.example' }));
  const text = new TextDecoder().decode(r.announce?.text);
  assert.match(text, /connection requested by ev\^\[\[2Jil@host\.example\./);
  assert.ok(!text.includes('\x1b'));
});

test('processRequest() ANNOUNCE refuses an empty or invisible caller name with FAILED, never ringing', () => {
  for (const lName of ['', ' ', '\t\x01\x1b', '\u00a0\u009b', '   ']) {
    const ctx = context();
    const r = processRequest(msg({ lName }), source, ctx);
    assert.equal(r.response.answer, Answer.FAILED, JSON.stringify(lName));
    assert.equal(r.announce, undefined);
    assert.deepEqual(r.events, [{ event: 'caller-name-unusable' }]);
    assert.equal(ctx.table.size, 0, 'nothing stored');
  }
  const ok = processRequest(msg({ lName: 'a' }), source, context());
  assert.ok(ok.announce, 'one visible character is enough');
});

test('processRequest() ANNOUNCE reports the PERMISSION_DENIED reason as a typed event', () => {
  const r = processRequest(msg(), source, context({ user: { kind: 'permission-denied', reason: 'mesg-n' } }));
  assert.equal(r.response.answer, Answer.PERMISSION_DENIED);
  assert.deepEqual(r.events, [{ event: 'permission-denied', reason: 'mesg-n' }]);
});
