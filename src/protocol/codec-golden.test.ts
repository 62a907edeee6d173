/**
 * Golden packets: every control message of the real captures (shared/captures/01–07, netkit
 * and inetutils talk/talkd, extracted to test/fixtures/captures/*.json by
 * scripts/extract-captures.js) decodes to the fields documented in decoded.md and re-encodes
 * byte-identical, except the positions the reference marks as uninitialised daemon memory:
 * response `pad`, response `addr` unless a successful LOOK_UP, and `answer` of LEAVE_INVITE
 * responses (talk-protocol.md §1 "Garbage fields"; captures README "Garbage").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCaptureFixtures, fromHex, toHex, type CaptureMessage } from '../../test/fixtures/captures/load-captures.js';
import { decodeAnyCtlMsg } from './talk-codec.js';
import { decodeNtalkCtlResponse, encodeNtalkCtlResponse, NtalkCtlResponseOffset } from './ntalk/ctl-response.js';
import { encodeNtalkCtlMsg } from './ntalk/ctl-msg.js';
import { Answer, RequestType, answerName, requestTypeName } from './talk-types.js';
import { SOCKADDR_SIZE } from './constants.js';

/** The number of control messages in decoded.md of captures 01–07 (12+12+12+12+17+6+16). */
const EXPECTED_GOLDEN_MESSAGES = 87;

const fixtures = loadCaptureFixtures();

/** Leading decimal integer of a field-table value such as `1 = LOOK_UP` or `4294967295 (0xffffffff, ...)`. */
function leadingInt(value: string): number {
  const m = /^(\d+)\b/.exec(value);
  if (m === null) throw new Error(`no integer in ${JSON.stringify(value)}`);
  return Number(m[1]);
}

/** A Python repr string such as `'alice'` (talk-decode.py prints names with repr()). */
function pyString(value: string): string {
  const m = /^'((?:[^'\\]|\\x[0-9a-f]{2}|\\\\|\\')*)'$/.exec(value);
  if (m === null) throw new Error(`not a simple Python string literal: ${value}`);
  return (m[1] as string).replace(/\\x([0-9a-f]{2})|\\(\\|')/g, (_s, hx: string | undefined, ch: string | undefined) =>
    hx !== undefined ? String.fromCharCode(parseInt(hx, 16)) : (ch as string),
  );
}

/** The documented fields as a flat record (field name → value text). */
function documented(m: CaptureMessage): Map<string, string> {
  return new Map(m.fields.map((f) => [f.field, f.value]));
}

function get(doc: Map<string, string>, field: string): string {
  const v = doc.get(field);
  if (v === undefined) throw new Error(`decoded.md has no ${field}`);
  return v;
}

/** Response byte positions that hold uninitialised daemon memory and so are compared masked. */
function garbagePositions(type: number, answer: number): number[] {
  const o = NtalkCtlResponseOffset;
  const positions: number[] = [o.pad];
  if (type === RequestType.LEAVE_INVITE) positions.push(o.answer);
  if (!(type === RequestType.LOOK_UP && answer === Answer.SUCCESS)) {
    for (let i = 0; i < SOCKADDR_SIZE; i++) positions.push(o.addr + i);
  }
  return positions;
}

function masked(bytes: Uint8Array, positions: readonly number[]): string {
  const copy = Uint8Array.from(bytes);
  for (const p of positions) copy[p] = 0;
  return toHex(copy);
}

test(`the capture fixtures hold all ${EXPECTED_GOLDEN_MESSAGES} golden control messages of captures 01–07`, () => {
  assert.deepEqual(
    fixtures.map((f) => f.capture.slice(0, 2)),
    ['01', '02', '03', '04', '05', '06', '07'],
  );
  const total = fixtures.reduce((n, f) => n + f.messages.length, 0);
  assert.equal(total, EXPECTED_GOLDEN_MESSAGES);
  assert.ok(fixtures.some((f) => f.messages.some((m) => m.kind === 'request')));
  assert.ok(fixtures.some((f) => f.messages.some((m) => m.kind === 'response')));
});

for (const fixture of fixtures) {
  for (const m of fixture.messages) {
    const label = `${fixture.capture} #${m.n} ${m.message} ${m.kind}`;
    const bytes = fromHex(m.hex);
    const doc = documented(m);

    test(`golden ${label}: the fixture's field table agrees with its hex dump`, () => {
      assert.equal(bytes.length, m.kind === 'request' ? 84 : 24);
      for (const f of m.fields) assert.equal(m.hex.slice(f.off * 2, f.off * 2 + f.bytes.length), f.bytes, f.field);
    });

    if (m.kind === 'request') {
      test(`golden ${label} decodes to the documented fields and re-encodes byte-identical`, () => {
        const any = decodeAnyCtlMsg(bytes);
        assert.equal(any.protocol, 'ntalk');
        if (any.protocol !== 'ntalk') return;
        const d = any.msg;
        assert.equal(d.version, leadingInt(get(doc, 'vers')));
        assert.equal(d.type, leadingInt(get(doc, 'type')));
        assert.equal(requestTypeName(d.type), m.message);
        assert.equal(d.id, leadingInt(get(doc, 'id_num')));
        for (const [name, a] of [['addr', d.addr], ['ctl_addr', d.ctlAddr]] as const) {
          assert.equal(a.family, leadingInt(get(doc, `${name}.family`)), `${name}.family`);
          assert.equal(a.port, leadingInt(get(doc, `${name}.port`)), `${name}.port`);
          assert.equal(a.address, get(doc, `${name}.ip`), `${name}.ip`);
        }
        assert.equal(d.pid, leadingInt(get(doc, 'pid')));
        assert.equal(d.lName, pyString(get(doc, 'l_name')));
        assert.equal(d.rName, pyString(get(doc, 'r_name')));
        assert.equal(d.rTty, pyString(get(doc, 'r_tty')));
        // Requests have no garbage: answer, pad and the osockaddr tails are all zero on the wire.
        assert.equal(toHex(encodeNtalkCtlMsg(d)), m.hex);
      });
    } else {
      test(`golden ${label} decodes to the documented fields and re-encodes identical outside the garbage bytes`, () => {
        const d = decodeNtalkCtlResponse(bytes);
        assert.equal(d.version, leadingInt(get(doc, 'vers')));
        assert.equal(d.type, leadingInt(get(doc, 'type')));
        assert.equal(requestTypeName(d.type), m.message);
        assert.equal(d.answer, leadingInt(get(doc, 'answer')));
        const answerText = get(doc, 'answer');
        if (answerText.includes('= ') && !answerText.endsWith('= ?')) {
          assert.equal(`${d.answer} = ${answerName(d.answer)}`, answerText);
        }
        assert.equal(d.id, leadingInt(get(doc, 'id_num')));
        assert.equal(d.addr.family, leadingInt(get(doc, 'addr.family')));
        assert.equal(d.addr.port, leadingInt(get(doc, 'addr.port')));
        assert.equal(d.addr.address, get(doc, 'addr.ip'));
        const again = encodeNtalkCtlResponse(d);
        assert.equal(again.length, bytes.length);
        const mask = garbagePositions(d.type, d.answer);
        assert.equal(masked(again, mask), masked(bytes, mask));
        // Outside the mask only the osockaddr tail of garbage addrs and pad may differ.
        if (d.type === RequestType.LOOK_UP && d.answer === Answer.SUCCESS) {
          assert.equal(toHex(again.subarray(8)), m.hex.slice(16), 'a successful LOOK_UP addr is exact');
        }
      });
    }
  }
}
