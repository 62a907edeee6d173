import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../shared/clock.js';
import { MAX_ID, MAX_LIFE_MS } from '../protocol/constants.js';
import { RequestType, type SockAddrIn } from '../protocol/talk-types.js';
import { InvitationTable, type TableRequest } from './invitation-table.js';

const addr: SockAddrIn = { family: 2, port: 4000, address: '10.0.0.1' };
function req(over: Partial<TableRequest> = {}): TableRequest {
  return { type: RequestType.LEAVE_INVITE, lName: 'alice', rName: 'bob', rTty: '', pid: 42, addr, ctlAddr: addr, ...over };
}

test('InvitationTable.newId() runs 1, 2, ... and wraps at MAX_ID skipping 0', () => {
  const t = new InvitationTable({ clock: new ManualClock(), capacity: 1 });
  assert.equal(t.newId(), 1);
  assert.equal(t.newId(), 2);
  for (let i = 3; i < MAX_ID; i++) t.newId();
  assert.equal(t.newId(), 1, 'after 15999 comes 1, never 0');
});

test('InvitationTable ids are never 0 and always below MAX_ID (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40_000 }), (n) => {
      const t = new InvitationTable({ clock: new ManualClock(), capacity: 1 });
      let id = 0;
      for (let i = 0; i < n; i++) id = t.newId();
      return id > 0 && id < MAX_ID && id === ((n - 1) % (MAX_ID - 1)) + 1;
    }),
    { numRuns: 20 },
  );
});

test('InvitationTable.findMatch() finds a LEAVE_INVITE by swapped names only', () => {
  const t = new InvitationTable({ clock: new ManualClock(), capacity: 8 });
  const e = t.insert(req());
  assert.ok(e);
  assert.equal(t.findMatch('bob', 'alice')?.id, e.id);
  assert.equal(t.findMatch('alice', 'bob'), undefined);
  t.insert(req({ type: RequestType.ANNOUNCE, lName: 'carol', rName: 'dave' }));
  assert.equal(t.findMatch('dave', 'carol'), undefined, 'an ANNOUNCE is never a match');
});

test('InvitationTable.findRequest() needs the same names, type and pid', () => {
  const t = new InvitationTable({ clock: new ManualClock(), capacity: 8 });
  const e = t.insert(req());
  assert.equal(t.findRequest(req())?.id, e?.id);
  assert.equal(t.findRequest(req({ pid: 43 })), undefined);
  assert.equal(t.findRequest(req({ type: RequestType.ANNOUNCE })), undefined);
  assert.equal(t.findRequest(req({ rName: 'carol' })), undefined);
});

test('InvitationTable entries expire MAX_LIFE after the last touch, and touching extends them', () => {
  const clock = new ManualClock();
  const t = new InvitationTable({ clock, capacity: 8 });
  t.insert(req());
  clock.advance(MAX_LIFE_MS - 1);
  assert.ok(t.findRequest(req()), 'still alive just before MAX_LIFE; this touches it');
  clock.advance(MAX_LIFE_MS - 1);
  assert.ok(t.findMatch('bob', 'alice'), 'the touch restarted the lifetime');
  clock.advance(2);
  assert.equal(t.findMatch('bob', 'alice'), undefined, 'expired');
  assert.equal(t.size, 0);
});

test('InvitationTable.insert() returns undefined when full, and expiry frees room', () => {
  const clock = new ManualClock();
  const t = new InvitationTable({ clock, capacity: 2 });
  assert.ok(t.insert(req({ pid: 1 })));
  assert.ok(t.insert(req({ pid: 2 })));
  assert.equal(t.insert(req({ pid: 3 })), undefined);
  clock.advance(MAX_LIFE_MS + 1);
  assert.ok(t.insert(req({ pid: 3 })));
});

test('InvitationTable.deleteById() removes the entry with that id only', () => {
  const t = new InvitationTable({ clock: new ManualClock(), capacity: 8 });
  const a = t.insert(req({ pid: 1 }));
  const b = t.insert(req({ pid: 2 }));
  assert.ok(a && b);
  assert.equal(t.deleteById(a.id), true);
  assert.equal(t.deleteById(a.id), false);
  assert.equal(t.size, 1);
  assert.equal(t.findRequest(req({ pid: 2 }))?.id, b.id);
});

test('InvitationTable.renew() gives a fresh id', () => {
  const t = new InvitationTable({ clock: new ManualClock(), capacity: 8 });
  const a = t.insert(req());
  assert.ok(a);
  const old = a.id;
  assert.equal(t.renew(a), old + 1);
  assert.equal(t.findMatch('bob', 'alice')?.id, old + 1);
});

test('InvitationTable rejects a capacity below 1', () => {
  assert.throws(() => new InvitationTable({ clock: new ManualClock(), capacity: 0 }), RangeError);
});
