import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haNotifyPlan } from './ha-notify-plan.js';

const ctd = { program: '/usr/sbin/conntrackd', config: '/etc/conntrackd/conntrackd.conf' };

test('haNotifyPlan(MASTER) commits the external cache before the gateway serves, then flushes, resyncs and bulk-sends', () => {
  const p = haNotifyPlan('MASTER', ctd);
  assert.deepEqual(p.before, [['/usr/sbin/conntrackd', '-C', '/etc/conntrackd/conntrackd.conf', '-c']]);
  assert.deepEqual(p.after.map((a) => a.at(-1)), ['-f', '-R', '-B']);
});

test('haNotifyPlan(BACKUP/FAULT/STOP) tells the gateway first; conntrackd only afterwards', () => {
  assert.deepEqual(haNotifyPlan('BACKUP', ctd), { before: [], after: [[ctd.program, '-C', ctd.config, '-t'], [ctd.program, '-C', ctd.config, '-n']] });
  for (const s of ['FAULT', 'STOP'] as const) assert.deepEqual(haNotifyPlan(s, ctd), { before: [], after: [[ctd.program, '-C', ctd.config, '-t']] });
});

test('haNotifyPlan() without conntrackd runs nothing but the gateway switch', () => {
  for (const s of ['MASTER', 'BACKUP', 'FAULT', 'STOP'] as const) assert.deepEqual(haNotifyPlan(s, undefined), { before: [], after: [] });
});

test('haNotifyPlan(MASTER, committed) leaves the commit to the hook that already ran it; the resync still follows', () => {
  assert.deepEqual(haNotifyPlan('MASTER', ctd, true), { before: [], after: ['-f', '-R', '-B'].map((f) => [ctd.program, '-C', ctd.config, f]) });
  assert.deepEqual(haNotifyPlan('BACKUP', ctd, true), haNotifyPlan('BACKUP', ctd));
});
