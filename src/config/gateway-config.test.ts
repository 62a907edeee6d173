import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGatewayConfig } from './load-gateway-config.js';
import {
  DEFAULT_CALLS_PER_NETWORK,
  DEFAULT_CALLS_PER_SOURCE,
  DEFAULT_NETWORK_PREFIX,
  DEFAULT_PENDING_PER_CALLEE,
  DEFAULT_SIDE_RESERVE,
} from './gateway-config.js';

const BASE = `[inside]\naddress = "10.1.0.1"\nnetworks = ["10.1.0.0/24"]\n[outside]\naddress = "198.51.100.1"\n[[policy]]\naction = "allow"\n`;

test('[limits] fair-share keys: documented defaults when absent', () => {
  const r = parseGatewayConfig(BASE, 'defaults');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const l = r.config.limits;
  assert.deepEqual(
    { s: l.callsPerSource, n: l.callsPerNetwork, p: l.networkPrefix, c: l.pendingPerCallee, r: l.sideReserve },
    { s: DEFAULT_CALLS_PER_SOURCE, n: DEFAULT_CALLS_PER_NETWORK, p: DEFAULT_NETWORK_PREFIX, c: DEFAULT_PENDING_PER_CALLEE, r: DEFAULT_SIDE_RESERVE },
  );
});

test('[limits] fair-share keys: set values are used, out-of-range ones are refused with their key path', () => {
  const ok = parseGatewayConfig(`${BASE}[limits]\ncalls_per_source = 2\ncalls_per_network = 9\nnetwork_prefix = 16\npending_per_callee = 1\nside_reserve = 0.5\n`, 'set');
  assert.ok(ok.ok, ok.ok ? '' : ok.errors.join('\n'));
  assert.deepEqual(
    [ok.config.limits.callsPerSource, ok.config.limits.callsPerNetwork, ok.config.limits.networkPrefix, ok.config.limits.pendingPerCallee, ok.config.limits.sideReserve],
    [2, 9, 16, 1, 0.5],
  );
  for (const [key, value] of [['calls_per_source', '0'], ['calls_per_network', '1.5'], ['network_prefix', '7'], ['network_prefix', '33'], ['pending_per_callee', '0'], ['side_reserve', '0.6'], ['side_reserve', '-0.1']] as const) {
    const r = parseGatewayConfig(`${BASE}[limits]\n${key} = ${value}\n`, 'bad');
    assert.ok(!r.ok, `${key} = ${value} accepted`);
    assert.match(r.errors.join('\n'), new RegExp(`limits\\.${key}`), `${key} = ${value}: ${r.errors.join('; ')}`);
  }
});

test('[peering]: peers are normalised (fingerprint upper-case with colons); duplicates and long names are refused', () => {
  const peering = (peers: string): string => `${BASE}[peering]\ncert = "/c"\nkey = "/k"\nca = "/ca"\n${peers}`;
  const fp = 'ab'.repeat(32);
  const r = parseGatewayConfig(peering(`[[peering.peers]]\nname = "gw2"\naddress = "192.0.2.2"\nfingerprint = "${fp}"\n`), 'peers');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.equal(r.config.peering?.port, 5519);
  assert.deepEqual(r.config.peering?.peers, [{ name: 'gw2', address: '192.0.2.2', fingerprint: Array(32).fill('AB').join(':') }]);
  const dup = parseGatewayConfig(peering('[[peering.peers]]\nname = "gw2"\naddress = "192.0.2.2"\n[[peering.peers]]\nname = "gw2"\naddress = "192.0.2.3"\n'), 'dup');
  assert.ok(!dup.ok && dup.errors.join('\n').includes('duplicate peer name'));
  const long = parseGatewayConfig(peering('[[peering.peers]]\nname = "much-too-long"\naddress = "192.0.2.2"\n'), 'long');
  assert.ok(!long.ok);
});
