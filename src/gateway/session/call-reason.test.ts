import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALL_REASONS, callOutcome, type CallReason } from './call-reason.js';

test('callOutcome() separates a conversation, a callee not here or refusing, a policy denial, a failure and the rest', () => {
  const expect: Partial<Record<CallReason, string>> = {
    'conversation-ended': 'conversation',
    'callee-not-here': 'not-here',
    'callee-refusing': 'callee-refusing',
    'policy-denied': 'denied-by-policy',
    'default-deny': 'denied-by-policy',
    'callee-failed': 'failed',
    'daemon-silent': 'failed',
    'invitation-expired': 'unanswered',
    'caller-cancelled': 'cancelled',
    'no-directory-entry': 'refused',
    'ended-by-admin': 'ended-by-admin',
  };
  for (const [code, outcome] of Object.entries(expect)) assert.equal(callOutcome(code), outcome, code);
  // Every code has a message, and an unknown code is a plain refusal, never peer text as a label.
  for (const [code, text] of Object.entries(CALL_REASONS)) assert.ok(text.length > 0, code);
  assert.equal(callOutcome('<script>'), 'refused');
});
