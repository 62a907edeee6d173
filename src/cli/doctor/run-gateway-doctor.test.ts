import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAsAccount, runGatewayDoctor } from './run-gateway-doctor.js';
import { ADM, NOBODY, dir, fakeDoctorProbes } from './testing/fake-doctor-probes.js';
import type { PrerequisiteProbes } from '../../config/mode-prerequisites.js';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';

const machine = (over: Partial<PrerequisiteProbes> = {}): PrerequisiteProbes => ({
  libnftables: () => ({ state: 'present' }),
  libnetfilterConntrack: () => ({ state: 'present' }),
  program: () => ({ state: 'present' }),
  kernelFeature: () => ({ state: 'present' }),
  ipForwarding: () => true,
  effectiveCapabilities: () => 0x1ff_ffff_ffffn,
  unprivilegedPortStart: () => 1024,
  ...over,
});

const BASE = `mode = "pinhole"
[inside]
address = "10.1.0.1"
interface = "lan0"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
interface = "wan0"
[directory]
bob = "bob@far.example"
[audit]
file = "/var/log/tg"
`;

async function doctor(text: string, prerequisites = machine(), probes = fakeDoctorProbes({ files: { '/var': dir(0o755), '/var/log': dir(0o755), '/var/log/tg': dir(0o755) }, resolve: () => 'unresolved' })) {
  const d = mkdtempSync(join(tmpdir(), 'tg-doctor-'));
  try {
    const path = join(d, 'gw.toml');
    writeFileSync(path, text);
    const r = await runGatewayDoctor({ path, prerequisites, probes });
    return { ...r, lines: r.lines.map((l) => l.replace(path, 'gw.toml')), summary: r.summary.replace(path, 'gw.toml') };
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

test('runGatewayDoctor() prints every finding as file:line: key: message, errors making the file invalid', async () => {
  const r = await doctor(BASE, machine({ libnetfilterConntrack: () => ({ state: 'missing', detail: 'cannot load libnetfilter_conntrack.so.3' }) }));
  assert.equal(r.valid, false);
  assert.deepEqual(r.lines, [
    'gw.toml: policy: warning: no [[policy]] rule: every call will be refused (the policy denies by default; rules match first to last)',
    "gw.toml:1: mode: mode = \"pinhole\" lists each call's flows to close its hole when the call ends, but libnetfilter_conntrack cannot be loaded (cannot load libnetfilter_conntrack.so.3): install libnetfilter-conntrack3",
    'gw.toml:12: audit.file: /var/log/tg is a directory; give a file path inside it',
    'gw.toml:10: directory.bob: warning: host far.example is not in inside.hosts or outside.hosts and does not resolve (the resolver does not know it): calls for bob will fail',
  ]);
  assert.equal(r.summary, 'gw.toml: configuration is invalid: 2 errors, 2 warnings');
});

test('runGatewayDoctor() is valid with warnings only, and stops at schema errors', async () => {
  const ok = await doctor(BASE.replace('file = "/var/log/tg"', 'file = "/var/log/tg/audit.jsonl"').replace('far.example', '10.1.0.9'));
  assert.equal(ok.valid, true, ok.lines.join('\n'));
  assert.equal(ok.summary, 'gw.toml: configuration is valid (mode pinhole, 1 warning)');
  const bad = await doctor(`${BASE}[admin]\nlisten = "127.0.0.1:99999"\n`);
  assert.equal(bad.valid, false);
  assert.deepEqual(bad.lines, ['gw.toml:14: admin.listen: port 99999 is out of range (1-65535)']);
});

test('runAsAccount() is the [privileges] user, else nobody in every mode, or the caller when not root', () => {
  const load = (t: string) => {
    const r = parseGatewayConfig(`${t}\n[inside]\naddress = "10.1.0.1"\ninterface = "lan0"\nnetworks = ["10.1.0.0/24"]\n[outside]\naddress = "198.51.100.1"\ninterface = "wan0"\n`, 't');
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    return r.config;
  };
  assert.deepEqual(runAsAccount(load(''), fakeDoctorProbes()), NOBODY);
  assert.deepEqual(runAsAccount(load('mode = "transparent"'), fakeDoctorProbes()), NOBODY, 'privilege separated: the worker');
  const root = runAsAccount(load('[privileges]\nuser = "root"'), fakeDoctorProbes());
  assert.ok('code' in root && root.code === 'run-as-root');
  assert.deepEqual(runAsAccount(load('[privileges]\nuser = "tg"'), fakeDoctorProbes()), ADM);
  assert.deepEqual(runAsAccount(load('[privileges]\nuser = "tg"'), fakeDoctorProbes({ self: NOBODY })), NOBODY);
  const missing = runAsAccount(load('[privileges]\nuser = "ghost"'), fakeDoctorProbes());
  assert.ok('code' in missing && missing.code === 'run-as-user-missing' && missing.key === 'privileges.user');
});
