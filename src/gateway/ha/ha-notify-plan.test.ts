import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haNotifyPlan } from './ha-notify-plan.js';

const ctd = { program: '/usr/sbin/conntrackd', config: '/etc/conntrackd/conntrackd.conf' };

test('haNotifyPlan(MASTER) commits the external cache first, then flushes, resyncs and bulk-sends, all before the gateway serves', () => {
  const p = haNotifyPlan('MASTER', ctd);
  assert.deepEqual(p.before.map((a) => a.at(-1)), ['-c', '-f', '-R', '-B']);
  assert.deepEqual(p.before[0], ['/usr/sbin/conntrackd', '-C', '/etc/conntrackd/conntrackd.conf', '-c']);
  assert.deepEqual(p.after, []);
});

test('haNotifyPlan(BACKUP/FAULT/STOP) tells the gateway first; conntrackd only afterwards', () => {
  assert.deepEqual(haNotifyPlan('BACKUP', ctd), { before: [], after: [[ctd.program, '-C', ctd.config, '-t'], [ctd.program, '-C', ctd.config, '-n']] });
  for (const s of ['FAULT', 'STOP'] as const) assert.deepEqual(haNotifyPlan(s, ctd), { before: [], after: [[ctd.program, '-C', ctd.config, '-t']] });
});

test('haNotifyPlan() without conntrackd runs nothing but the gateway switch', () => {
  for (const s of ['MASTER', 'BACKUP', 'FAULT', 'STOP'] as const) assert.deepEqual(haNotifyPlan(s, undefined), { before: [], after: [] });
});
