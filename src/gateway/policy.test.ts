import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGatewayConfig } from '../config/load-gateway-config.js';
import { evaluatePolicy } from './policy.js';
import type { PolicyRule } from '../config/gateway-config.js';

function rules(toml: string): readonly PolicyRule[] {
  const r = parseGatewayConfig(`[inside]\naddress="10.1.0.1"\nnetworks=["10.1.0.0/24"]\n[outside]\naddress="198.51.100.1"\n${toml}`, 't');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config.policy;
}

const out = { direction: 'outbound', insideUser: 'alice', remoteAddress: '198.51.100.2', remoteName: 'rc-out' } as const;

test('evaluatePolicy() denies by default when no rule matches', () => {
  assert.deepEqual(evaluatePolicy([], out), { allow: false, rule: null, reason: 'no policy rule matched (default deny)' });
});

test('evaluatePolicy() lets the first matching rule win', () => {
  const r = rules(`
[[policy]]
action = "deny"
direction = "inbound"
[[policy]]
action = "deny"
user = "alice"
remote = "198.51.100.0/24"
[[policy]]
action = "allow"
`);
  assert.deepEqual(evaluatePolicy(r, out), { allow: false, rule: 1, reason: 'denied by policy rule #2' });
  assert.deepEqual(evaluatePolicy(r, { ...out, insideUser: 'carol' }), { allow: true, rule: 2 });
  assert.deepEqual(evaluatePolicy(r, { ...out, remoteAddress: '203.0.113.5' }), { allow: true, rule: 2 });
  assert.equal(evaluatePolicy(r, { ...out, direction: 'inbound' }).rule, 0);
});

test('evaluatePolicy() matches a host rule by the remote name, case-insensitively', () => {
  const r = rules(`
[[policy]]
action = "allow"
remote = "RC-Out"
`);
  assert.equal(evaluatePolicy(r, out).allow, true);
  assert.equal(evaluatePolicy(r, { ...out, remoteName: 'other' }).allow, false);
  const { remoteName: _drop, ...noName } = out;
  assert.equal(evaluatePolicy(r, noName).allow, false);
});
