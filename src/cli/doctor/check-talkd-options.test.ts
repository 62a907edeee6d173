import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTalkdMachine, checkTalkdUsage, type TalkdOptionsToCheck } from './check-talkd-options.js';
import { NOBODY, dir, fakeDoctorProbes, file } from './testing/fake-doctor-probes.js';

const base: TalkdOptionsToCheck = { ntalkPort: 518, otalkPort: 517, utmp: '/run/utmp', devDir: '/dev', user: 'nobody', group: 'tty', hostname: 'fw.example', standalone: true };
const doctor = fakeDoctorProbes({ files: { '/run/utmp': file(0o664), '/dev': dir(0o755) }, groups: { tty: 5 } });
const prerequisites = (caps: bigint) => ({ effectiveCapabilities: () => caps, unprivilegedPortStart: () => 1024 });

test('checkTalkdUsage() refuses contradictory options', () => {
  assert.deepEqual(checkTalkdUsage(base), []);
  assert.deepEqual(checkTalkdUsage({ ...base, ntalkPort: undefined, otalkPort: undefined }).map((p) => p.code), ['nothing-served']);
  assert.deepEqual(checkTalkdUsage({ ...base, otalkPort: 518 }).map((p) => [p.code, p.key]), [['same-port', '--otalk-port']]);
  assert.deepEqual(checkTalkdUsage({ ...base, ntalkPort: 0, otalkPort: 0 }), [], 'two ephemeral ports differ');
  assert.deepEqual(checkTalkdUsage({ ...base, hostname: 'evil\x1b[2J' }).map((p) => p.code), ['bad-hostname']);
});

test('checkTalkdMachine() checks utmp, the tty directory, the accounts and the privilege for low ports', () => {
  assert.deepEqual(checkTalkdMachine(base, { prerequisites: prerequisites(0x1ff_ffff_ffffn), doctor }), []);
  const found = checkTalkdMachine({ ...base, utmp: '/nope', devDir: '/run/utmp', user: 'ghost', group: 'nogroup' }, { prerequisites: prerequisites(0n), doctor });
  assert.deepEqual(found.map((p) => [p.code, p.key]), [
    ['utmp-unreadable', '--utmp'],
    ['dev-dir-missing', '--dev-dir'],
    ['user-missing', '--user'],
    ['group-missing', '--group'],
    ['cap-net-bind-service-missing', '--port'],
    ['cap-net-bind-service-missing', '--otalk-port'],
  ]);
  const asNobody = fakeDoctorProbes({ files: { '/run/utmp': file(0o664), '/dev': dir(0o755) }, self: NOBODY });
  assert.deepEqual(checkTalkdMachine({ ...base, inetd: true, standalone: false, group: 'x' } as TalkdOptionsToCheck, { prerequisites: prerequisites(0n), doctor: asNobody }), [], 'inetd binds for it; not root: no drop');
});
