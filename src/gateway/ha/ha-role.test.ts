import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HA_STATES, haTransition, roleOfState } from './ha-role.js';

test('haTransition() makes only MASTER a master; BACKUP, FAULT and STOP are backups', () => {
  assert.equal(roleOfState('MASTER'), 'master');
  for (const s of ['BACKUP', 'FAULT', 'STOP'] as const) assert.equal(roleOfState(s), 'backup');
  assert.deepEqual(haTransition('backup', 'MASTER'), { role: 'master', changed: true, removeHoles: false });
  assert.deepEqual(haTransition('master', 'FAULT'), { role: 'backup', changed: true, removeHoles: true });
});

test('haTransition() removes the holes on every notification that is not MASTER, even when already backup', () => {
  fc.assert(
    fc.property(fc.constantFrom('master', 'backup' as const), fc.constantFrom(...HA_STATES), (from, state) => {
      const t = haTransition(from, state);
      assert.equal(t.removeHoles, state !== 'MASTER');
      assert.equal(t.changed, t.role !== from);
    }),
  );
});
