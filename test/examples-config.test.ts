/**
 * The configuration files shipped in examples/ are what administrators copy: each must pass the
 * same validation the programs apply at start, and say what its comments claim.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadGatewayConfigFile, packageRoot } from '../src/config/load-gateway-config.js';
import { parseMiddleboxConfig } from '../src/pcp/middlebox-config.js';
import { Registry } from 'prom-client';
import { createGatewayMetrics } from '../src/observability/metrics.js';

const examples = join(packageRoot(), 'examples');

test('examples/gateway-default.toml is a valid classical config on loopback without privileged ports', () => {
  const r = loadGatewayConfigFile(join(examples, 'gateway-default.toml'));
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.equal(r.config.mode, 'classical');
  assert.match(r.config.inside.address, /^127\./);
  assert.match(r.config.outside.address, /^127\./);
  assert.ok(r.config.ports.ntalk >= 1024 && r.config.ports.otalk >= 1024);
});

test('examples/gateway-transparent.toml is a valid transparent config naming both interfaces', () => {
  const r = loadGatewayConfigFile(join(examples, 'gateway-transparent.toml'));
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.equal(r.config.mode, 'transparent');
  assert.notEqual(r.config.inside.interface, undefined);
  assert.notEqual(r.config.inside.interface, r.config.outside.interface);
});

test('examples/middlebox.toml is a valid middlebox config with clamped lifetimes and a third party', () => {
  const s = parseMiddleboxConfig(readFileSync(join(examples, 'middlebox.toml'), 'utf8'));
  assert.equal(s.listenAddress, '10.1.0.1');
  assert.ok(s.core.minLifetime <= s.core.maxLifetime);
  assert.deepEqual(s.core.thirdParty, ['10.1.0.1']);
  assert.equal(s.table.table, 'talkgate_pcp');
});

test('a broken copy of an example is rejected with a message naming the key', () => {
  const text = readFileSync(join(examples, 'middlebox.toml'), 'utf8').replace('min_lifetime = 30', 'min_lifetime = 7200');
  assert.throws(() => parseMiddleboxConfig(text), /min_lifetime <= max_lifetime/);
});

test('examples/grafana-dashboard.json parses and queries only metrics the gateway exports', async () => {
  const dash = JSON.parse(readFileSync(join(packageRoot(), 'examples', 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const registry = new Registry();
  createGatewayMetrics(registry);
  const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
  const used = dash.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/talkgate_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))));
  assert.ok(used.length >= 7);
  for (const name of used) assert.ok(exported.has(name), name);
});
