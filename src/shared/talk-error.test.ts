import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES } from './error-codes.js';
import { describeError, errorCode, TalkError } from './talk-error.js';
import { DecodeError } from '../protocol/decode-error.js';

test('describeError() ends a TalkError message with its registered code, anything else with INTERNAL', () => {
  assert.equal(describeError(new TalkError('NOTHING_TO_SERVE', 'both protocols are disabled')), 'both protocols are disabled (NOTHING_TO_SERVE)');
  assert.equal(describeError(new Error('boom')), 'boom (INTERNAL)');
  assert.equal(describeError('thrown text'), 'thrown text (INTERNAL)');
});

test('errorCode() of a subclass is its registered code', () => {
  const e = new DecodeError('type', 1, 'unknown');
  assert.equal(errorCode(e), 'TALK_ERR_DECODE');
  assert.ok(Object.hasOwn(ERROR_CODES, errorCode(e)));
});
