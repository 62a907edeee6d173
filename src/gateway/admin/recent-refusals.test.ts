import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECENT_REFUSALS_MAX, RecentRefusals } from './recent-refusals.js';

test('RecentRefusals names the parties, the typed answer and the deciding rule of a refusal', () => {
  const r = new RecentRefusals();
  r.observe({ event: 'requested', callId: 'c-1', caller: { user: '<b>x</b>', address: '198.51.100.7', port: 1 }, requested: 'alice' }, 't0');
  r.observe({ event: 'refused', callId: 'c-1', reason: 'denied by policy rule #2', answer: 'PERMISSION_DENIED' }, 't1');
  r.observe({ event: 'refused', callId: 'c-2', reason: 'no policy rule matched (default deny)', answer: 'PERMISSION_DENIED' }, 't2');
  assert.deepEqual(r.list(), [
    { at: 't1', callId: 'c-1', reason: 'PERMISSION_DENIED', message: 'denied by policy rule #2', rule: 'policy rule #2', caller: '<b>x</b>@198.51.100.7', callee: 'alice' },
    { at: 't2', callId: 'c-2', reason: 'PERMISSION_DENIED', message: 'no policy rule matched (default deny)', rule: 'default deny' },
  ]);
});

test('RecentRefusals stays bounded', () => {
  const r = new RecentRefusals();
  for (let i = 0; i < 5_000; i++) {
    r.observe({ event: 'requested', callId: `c-${i}`, requested: 'x' }, 't');
    if (i % 2 === 0) r.observe({ event: 'refused', callId: `c-${i}`, answer: 'FAILED' }, 't');
  }
  assert.equal(r.list().length, RECENT_REFUSALS_MAX);
  assert.equal(r.list().at(-1)?.callId, 'c-4998');
});
