import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGatewayConfig } from './load-gateway-config.js';

const base = (extra: { mode?: string; inIf?: string | null; outIf?: string | null; more?: string } = {}): string => `
mode = "${extra.mode ?? 'transparent'}"
[inside]
address = "10.1.0.1"
networks = ["10.1.0.0/24"]
${extra.inIf === null ? '' : `interface = "${extra.inIf ?? 'inside'}"`}
[outside]
address = "198.51.100.1"
${extra.outIf === null ? '' : `interface = "${extra.outIf ?? 'outside'}"`}
${extra.more ?? ''}
`;

test('parseGatewayConfig() accepts mode = "transparent" with both interfaces and fills the interception defaults', () => {
  const r = parseGatewayConfig(base(), 'gw.toml');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.equal(r.config.mode, 'transparent');
  assert.equal(r.config.inside.interface, 'inside');
  assert.equal(r.config.outside.interface, 'outside');
  assert.deepEqual(r.config.transparent, { port: 15518, table: 'talkgate_intercept' });
});

test('parseGatewayConfig() rejects transparent mode without interfaces, with equal or bad ones, with a tproxy port in the relay range', () => {
  const errs = (text: string): string => {
    const r = parseGatewayConfig(text, 'gw.toml');
    assert.equal(r.ok, false, text);
    return r.ok ? '' : r.errors.join('\n');
  };
  assert.match(errs(base({ inIf: null })), /inside\.interface: required with mode = "transparent"/);
  assert.match(errs(base({ outIf: null })), /outside\.interface: required with mode = "transparent"/);
  assert.match(errs(base({ outIf: 'inside' })), /outside\.interface: must differ from inside\.interface/);
  assert.match(errs(base({ inIf: 'eth 0' })), /inside\.interface: "eth 0" is not an interface name/);
  // [privileges] names the unprivileged worker's user, in every mode (privilege separation).
  assert.ok(parseGatewayConfig(base({ more: '[privileges]\nuser = "nobody"' }), 'gw.toml').ok);
  assert.match(errs(base({ more: '[relay]\nports = "15000-16000"' })), /transparent\.port: 15518 lies in relay\.ports/);
  assert.match(errs(base({ more: '[transparent]\nport = 518' })), /transparent\.port: /);
  assert.match(errs(base({ more: '[transparent]\ntable = "bad name"' })), /transparent\.table: must be an nft identifier/);
});

test('parseGatewayConfig(): classical mode does not need interfaces', () => {
  const r = parseGatewayConfig(base({ mode: 'classical', inIf: null, outIf: null }), 'gw.toml');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
});
