import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { TransparentIngress } from './transparent-ingress.js';

function config(insideIf: string, outsideIf: string): GatewayConfig {
  const r = parseGatewayConfig(
    `mode = "transparent"\n[inside]\naddress = "10.1.0.1"\ninterface = "${insideIf}"\nnetworks = ["10.1.0.0/24"]\n[outside]\naddress = "198.51.100.1"\ninterface = "${outsideIf}"\n[transparent]\ntable = "tgx_unit"\n`,
    'test',
  );
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config;
}

const noop = { onRequest: () => undefined, onResponse: () => undefined, plan: { port: 15518, table: 'tgx_unit', inbound: true } };

test('TransparentIngress.start() refuses an interface this host does not have, before opening or installing anything', async () => {
  await assert.rejects(TransparentIngress.start({ config: config('lo', 'tgx-nope0'), ...noop }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'INTERCEPT_INSTALL');
    assert.match(e.message, /outside\.interface: no interface "tgx-nope0" with an address on this host/);
    return true;
  });
});

test('TransparentIngress.start() needs both interfaces in the configuration', async () => {
  const c = config('lo', 'eth0');
  const { interface: _dropped, ...outside } = c.outside;
  await assert.rejects(TransparentIngress.start({ config: { ...c, outside }, ...noop }), /inside\.interface and outside\.interface are required/);
});
