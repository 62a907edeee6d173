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
