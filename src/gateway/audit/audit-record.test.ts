import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AUDIT_MAX_LINE_BYTES, AUDIT_MAX_STRING, formatAuditLine, sanitizeAuditRecord, sanitizeAuditString } from './audit-record.js';

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

test('formatAuditLine is the JSON of sanitizeAuditRecord plus a newline, within AUDIT_MAX_LINE_BYTES', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string({ unit: 'binary', maxLength: 600 }), fc.integer()), { maxKeys: 20 }), (callId, extra) => {
      const rec = { ...extra, event: 'rung', callId };
      const line = formatAuditLine('2026-11-24T00:00:00.000Z', rec);
      assert.ok(line.endsWith('\n'));
      assert.ok(Buffer.byteLength(line) <= AUDIT_MAX_LINE_BYTES);
      assert.deepEqual(JSON.parse(line), sanitizeAuditRecord('2026-11-24T00:00:00.000Z', rec));
    }),
    { numRuns: 300 },
  );
});
