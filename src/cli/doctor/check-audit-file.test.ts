import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAuditFile, permits } from './check-audit-file.js';
import { ADM, NOBODY, ROOT, dir, fakeDoctorProbes, file } from './testing/fake-doctor-probes.js';

const tree = {
  '/var': dir(0o755),
  '/var/log': dir(0o755),
  '/var/log/talkgate': dir(0o750, 0, 4), // root:adm
  '/var/log/talkgate/audit.jsonl': file(0o640, 0, 4),
  '/var/log/open': dir(0o1777),
  '/var/log/mine': dir(0o700, 65534, 65534),
  '/var/log/mine/audit.jsonl': file(0o444, 65534, 65534),
};
const probes = fakeDoctorProbes({ files: tree });
const codes = (path: string, who = NOBODY): string[] => checkAuditFile(path, who, probes).map((d) => d.code);

test('permits() applies owner, then group, then other bits, and root bypasses them', () => {
  assert.equal(permits(NOBODY, file(0o600, 65534), 2), true);
  assert.equal(permits(NOBODY, file(0o066, 65534), 2), false, 'owner bits win even when others may');
  assert.equal(permits(ADM, file(0o060, 0, 4), 2), true, 'supplementary group');
  assert.equal(permits(NOBODY, file(0o002), 2), true);
  assert.equal(permits(ROOT, file(0o000, 1), 2), true);
});

test('checkAuditFile() refuses an audit path that is a directory (issue 18)', () => {
  assert.deepEqual(codes('/var/log/talkgate'), ['audit-is-directory']);
  assert.deepEqual(codes('/var/log/talkgate', ROOT), ['audit-is-directory'], 'whoever runs it');
});

test('checkAuditFile() checks the file or its directory for the user the gateway runs as', () => {
  assert.deepEqual(codes('/var/log/talkgate/audit.jsonl'), ['audit-not-writable'], 'nobody cannot enter root:adm 0750');
  assert.deepEqual(codes('/var/log/talkgate/audit.jsonl', ROOT), []);
  assert.deepEqual(codes('/var/log/talkgate/new.jsonl', ADM), ['audit-not-writable'], 'adm may read the directory, not create in it');
  assert.deepEqual(codes('/var/log/open/audit.jsonl'), [], 'a new file in a sticky world-writable directory');
  assert.deepEqual(codes('/var/log/mine/audit.jsonl'), ['audit-not-writable'], 'own file, read-only');
  assert.deepEqual(codes('/var/log/mine/other.jsonl'), []);
  assert.deepEqual(codes('/var/log/none/audit.jsonl'), ['audit-directory-missing']);
  assert.deepEqual(codes('/var/log/talkgate/audit.jsonl/x'), ['audit-not-writable']);
  assert.deepEqual(codes('/var/log/talkgate/audit.jsonl/x', ROOT), ['audit-directory-missing'], 'a file where a directory should be');
});

test('checkAuditFile() names the user and the path in its message', () => {
  const [d] = checkAuditFile('/var/log/talkgate/audit.jsonl', NOBODY, probes);
  assert.equal(d?.key, 'audit.file');
  assert.match(d?.message ?? '', /user nobody cannot enter \/var\/log\/talkgate/);
});

test('checkAuditFile() for a gateway started as root needs only a reachable, existing directory (the monitor creates and chowns the file)', () => {
  const prepared = (path: string): string[] => checkAuditFile(path, NOBODY, probes, { preparedByRoot: true }).map((d) => d.code);
  assert.deepEqual(prepared('/var/log/mine/new.jsonl'), []);
  assert.deepEqual(prepared('/var/log/talkgate/audit.jsonl'), ['audit-not-writable'], 'nobody cannot reach into root:adm 0750');
  assert.deepEqual(prepared('/var/log/none/audit.jsonl'), ['audit-directory-missing']);
  assert.deepEqual(prepared('/var/log/mine'), ['audit-is-directory']);
});
