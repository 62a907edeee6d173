import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { checkDirectoryHosts, HOST_LOOKUP_TIMEOUT_MS, MAX_HOST_LOOKUPS } from './check-directory-hosts.js';
import { fakeDoctorProbes } from './testing/fake-doctor-probes.js';
import type { GatewayConfig } from '../../config/gateway-config.js';

function config(directory: string): GatewayConfig {
  const r = parseGatewayConfig(
    `[inside]\naddress = "10.1.0.1"\nnetworks = ["10.1.0.0/24"]\nhosts = { ws1 = "10.1.0.5" }\n[outside]\naddress = "198.51.100.1"\nhosts = { peer = "203.0.113.9" }\n[directory]\n${directory}`,
    't',
  );
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config;
}

test('checkDirectoryHosts() looks up only hosts outside the tables, and warns for each entry that does not resolve', async () => {
  const asked: string[] = [];
  const probes = fakeDoctorProbes({ asked, resolve: (h) => (h === 'gone.example' ? 'unresolved' : h === 'slow.example' ? 'timeout' : 'resolved') });
  const c = config('a = "a@ws1"\nb = "b@peer"\nc = "c@10.1.0.7"\nd = "d@gone.example"\ne = "e@gone.example"\nf = "f@slow.example"\ng = "g@ok.example"\n');
  const found = await checkDirectoryHosts(c, probes);
  assert.deepEqual(asked.sort(), ['gone.example', 'ok.example', 'slow.example']);
  assert.deepEqual(found.map((d) => [d.severity, d.code, d.key]), [
    ['warning', 'host-unresolvable', 'directory.d'],
    ['warning', 'host-unresolvable', 'directory.e'],
    ['warning', 'host-unresolvable', 'directory.f'],
  ]);
  assert.match(found[2]?.message ?? '', new RegExp(`no answer within ${HOST_LOOKUP_TIMEOUT_MS} ms`));
});

test('checkDirectoryHosts() bounds the number of lookups', async () => {
  const asked: string[] = [];
  const entries = Array.from({ length: MAX_HOST_LOOKUPS + 5 }, (_, i) => `u${i} = "u@h${i}.example"`).join('\n');
  const found = await checkDirectoryHosts(config(`${entries}\n`), fakeDoctorProbes({ asked }));
  assert.equal(asked.length, MAX_HOST_LOOKUPS);
  assert.deepEqual(found.map((d) => d.code), ['hosts-not-checked']);
});
