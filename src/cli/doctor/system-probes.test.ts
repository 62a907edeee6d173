import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findProgram, systemPrerequisiteProbes } from './system-probes.js';

test('findProgram() finds an executable on PATH and nothing for an unknown name', () => {
  assert.equal(findProgram('sh', '/usr/bin:/bin')?.endsWith('/sh'), true);
  assert.equal(findProgram('tg-no-such-program-xyz', '/usr/bin'), undefined);
});

test('systemPrerequisiteProbes() reads this process: capabilities, port start, and a missing library as missing', { skip: process.platform !== 'linux' ? 'Linux /proc only' : false }, () => {
  const p = systemPrerequisiteProbes({ libnetfilterConntrackSoname: 'libtg-does-not-exist.so.0', libnftablesSoname: 'libtg-does-not-exist.so.0' });
  assert.equal(typeof p.effectiveCapabilities(), 'bigint');
  assert.ok(Number.isInteger(p.unprivilegedPortStart()));
  const ct = p.libnetfilterConntrack();
  assert.equal(ct.state, 'missing');
  assert.match('detail' in ct ? ct.detail : '', /libtg-does-not-exist/);
  assert.equal(p.libnftables().state, 'missing');
});
