import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../shared/clock.js';
import { MAX_ID, MAX_LIFE_MS } from '../protocol/constants.js';
import { RequestType, type SockAddrIn } from '../protocol/talk-types.js';
import { InvitationTable, type Invitation, type TableRequest } from './invitation-table.js';

const addr: SockAddrIn = { family: 2, port: 4000, address: '10.0.0.1' };
function req(over: Partial<TableRequest> = {}): TableRequest {
  return { type: RequestType.LEAVE_INVITE, lName: 'alice', rName: 'bob', rTty: '', pid: 42, addr, ctlAddr: addr, ...over };
}

const SRC = '10.0.0.1';

/** insert() from `source`; the stored entry, or undefined when refused. */
function put(t: InvitationTable, r: TableRequest, source = SRC): Invitation | undefined {
  const out = t.insert(r, source);
  return out.kind === 'stored' ? out.entry : undefined;
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
  const e = put(t, req());
  assert.ok(e);
  assert.equal(t.findMatch('bob', 'alice')?.id, e.id);
  assert.equal(t.findMatch('alice', 'bob'), undefined);
  put(t, req({ type: RequestType.ANNOUNCE, lName: 'carol', rName: 'dave' }));
  assert.equal(t.findMatch('dave', 'carol'), undefined, 'an ANNOUNCE is never a match');
});

test('InvitationTable.findRequest() needs the same names, type and pid', () => {
  const t = new InvitationTable({ clock: new ManualClock(), capacity: 8 });
  const e = put(t, req());
  assert.equal(t.findRequest(req())?.id, e?.id);
  assert.equal(t.findRequest(req({ pid: 43 })), undefined);
  assert.equal(t.findRequest(req({ type: RequestType.ANNOUNCE })), undefined);
  assert.equal(t.findRequest(req({ rName: 'carol' })), undefined);
});

test('InvitationTable entries expire MAX_LIFE after the last touch, and touching extends them', () => {
  const clock = new ManualClock();
  const t = new InvitationTable({ clock, capacity: 8 });
  put(t, req());
  clock.advance(MAX_LIFE_MS - 1);
  assert.ok(t.findRequest(req()), 'still alive just before MAX_LIFE; this touches it');
  clock.advance(MAX_LIFE_MS - 1);
  assert.ok(t.findMatch('bob', 'alice'), 'the touch restarted the lifetime');
  clock.advance(2);
  assert.equal(t.findMatch('bob', 'alice'), undefined, 'expired');
  assert.equal(t.size, 0);
});

test('InvitationTable.insert() refuses when full (every source at one entry), and expiry frees room', () => {
  const clock = new ManualClock();
  const t = new InvitationTable({ clock, capacity: 2, maxPerSource: 1 });
  assert.ok(put(t, req({ pid: 1 }), 'a'));
  assert.ok(put(t, req({ pid: 2 }), 'b'));
  assert.deepEqual(t.insert(req({ pid: 3 }), 'c'), { kind: 'full' });
  clock.advance(MAX_LIFE_MS + 1);
  assert.ok(put(t, req({ pid: 3 }), 'c'));
});

test('InvitationTable.deleteById() removes the entry with that id only', () => {
  const t = new InvitationTable({ clock: new ManualClock(), capacity: 8 });
  const a = put(t, req({ pid: 1 }));
  const b = put(t, req({ pid: 2 }));
  assert.ok(a && b);
  assert.equal(t.deleteById(a.id), true);
  assert.equal(t.deleteById(a.id), false);
  assert.equal(t.size, 1);
  assert.equal(t.findRequest(req({ pid: 2 }))?.id, b.id);
});

test('InvitationTable.renew() gives a fresh id', () => {
  const t = new InvitationTable({ clock: new ManualClock(), capacity: 8 });
  const a = put(t, req());
  assert.ok(a);
  const old = a.id;
  assert.equal(t.renew(a), old + 1);
  assert.equal(t.findMatch('bob', 'alice')?.id, old + 1);
});

test('InvitationTable rejects a capacity below 1', () => {
  assert.throws(() => new InvitationTable({ clock: new ManualClock(), capacity: 0 }), RangeError);
});

test('InvitationTable.insert() at a source\'s share replaces that source\'s least recently touched entry', () => {
  const clock = new ManualClock();
  const t = new InvitationTable({ clock, capacity: 8, maxPerSource: 2 });
  const a = put(t, req({ pid: 1 }), 'x');
  clock.advance(1);
  const b = put(t, req({ pid: 2 }), 'x');
  const other = put(t, req({ pid: 9 }), 'y');
  assert.ok(a && b && other);
  clock.advance(1);
  t.findRequest(req({ pid: 1 })); // touches a: b is now the least recently touched of x
  const out = t.insert(req({ pid: 3 }), 'x');
  assert.equal(out.kind, 'stored');
  assert.equal(out.kind === 'stored' ? out.replaced?.reason : undefined, 'source-share');
  assert.equal(out.kind === 'stored' ? out.replaced?.entry.id : undefined, b.id);
  assert.equal(t.heldBy('x'), 2);
  assert.equal(t.heldBy('y'), 1, 'another source is never displaced by x at its share');
  assert.ok(t.findRequest(req({ pid: 1 })) && !t.findRequest(req({ pid: 2 })) && t.findRequest(req({ pid: 9 })));
});

test('InvitationTable.insert() into a full table takes the oldest entry of the biggest holder', () => {
  const clock = new ManualClock();
  const t = new InvitationTable({ clock, capacity: 4, maxPerSource: 4 });
  for (let pid = 1; pid <= 3; pid++) put(t, req({ pid }), 'flood');
  put(t, req({ pid: 10 }), 'calm');
  const out = t.insert(req({ pid: 20 }), 'new');
  assert.equal(out.kind === 'stored' ? out.replaced?.reason : out.kind, 'fair-share');
  assert.equal(out.kind === 'stored' ? out.replaced?.entry.pid : undefined, 1);
  assert.deepEqual([t.heldBy('flood'), t.heldBy('calm'), t.heldBy('new')], [2, 1, 1]);
});

test('InvitationTable keeps room for every newcomer against any flood of few sources (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 100_000 })), { minLength: 65, maxLength: 600, size: 'max' }),
      (flood) => {
        const t = new InvitationTable({ clock: new ManualClock(), capacity: 64, maxPerSource: 4 });
        for (const [src, pid] of flood) t.insert(req({ pid, lName: `u${pid}` }), `127.0.0.${src + 2}`);
        const before = t.size;
        const out = t.insert(req({ type: RequestType.ANNOUNCE, pid: 1 }), '192.0.2.1');
        return out.kind === 'stored' && t.size <= 64 && before <= 8 * 4 && t.heldBy('192.0.2.1') === 1;
      },
    ),
    { numRuns: 50 },
  );
});

test('InvitationTable rejects a share outside 1 ..= capacity', () => {
  assert.throws(() => new InvitationTable({ clock: new ManualClock(), capacity: 4, maxPerSource: 0 }), RangeError);
  assert.throws(() => new InvitationTable({ clock: new ManualClock(), capacity: 4, maxPerSource: 5 }), RangeError);
});
