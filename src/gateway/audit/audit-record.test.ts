import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AUDIT_MAX_LINE_BYTES, AUDIT_MAX_STRING, formatAuditLine, sanitizeAuditString } from './audit-record.js';

/** A control, DEL, C1 or lone surrogate: what must never reach an audit line raw. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

test('sanitizeAuditString: any string → no control, DEL, C1 or lone surrogate, bounded; safe short strings unchanged', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ maxLength: 40 })), (s) => {
      const out = sanitizeAuditString(s);
      assert.doesNotMatch(out, UNSAFE);
      assert.ok(out.length <= AUDIT_MAX_STRING + 1);
      if (s.length < AUDIT_MAX_STRING && !UNSAFE.test(s) && !/[\ud800-\udfff]/.test(s)) assert.equal(out, s);
    }),
    { numRuns: 2000 },
  );
  assert.equal(sanitizeAuditString('a\u001b[2Jb\u009bc\u007f'), 'a^[[2JbM-^[c^?');
  assert.equal(sanitizeAuditString('x'.repeat(AUDIT_MAX_STRING - 1)), 'x'.repeat(AUDIT_MAX_STRING - 1));
  assert.equal(sanitizeAuditString('x'.repeat(AUDIT_MAX_STRING)), `${'x'.repeat(AUDIT_MAX_STRING)}…`);
});

/** Every string (keys and values) inside a parsed audit line. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [k, ...strings(x)]);
}

test('formatAuditLine: one JSON line, ts/event/callId first, every string sanitised, fields kept unless over AUDIT_MAX_LINE_BYTES', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string({ unit: 'binary', maxLength: 600 }), fc.integer()), { maxKeys: 20 }), (callId, extra) => {
      const rec = { ...extra, event: 'rung', callId };
      const line = formatAuditLine('2026-11-24T00:00:00.000Z', rec);
      assert.ok(line.endsWith('\n'));
      assert.equal(line.indexOf('\n'), line.length - 1);
      assert.ok(Buffer.byteLength(line) <= AUDIT_MAX_LINE_BYTES);
      const parsed = JSON.parse(line) as Record<string, unknown>;
      // (JavaScript orders integer-like keys, e.g. a peer-chosen "0", before all others.)
      assert.deepEqual(Object.keys(parsed).filter((k) => !/^(0|[1-9]\d*)$/.test(k)).slice(0, 3), ['ts', 'event', 'callId']);
      assert.equal(parsed['callId'], sanitizeAuditString(callId));
      for (const str of strings(parsed)) assert.doesNotMatch(str, UNSAFE);
      if (!('truncated' in parsed)) {
        for (const k of Object.keys(extra)) if (k !== 'ts' && k !== 'event' && k !== 'callId') assert.ok(sanitizeAuditString(k) in parsed, `field ${JSON.stringify(k)} kept`);
      }
    }),
    { numRuns: 300 },
  );
});
