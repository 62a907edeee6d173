import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefaultGatewayConfig, parseGatewayConfig } from './load-gateway-config.js';

const minimal = `
[inside]
address = "10.1.0.1"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
`;

function errorsOf(text: string): string[] {
  const r = parseGatewayConfig(text, 'gw.toml');
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return r.ok ? [] : r.errors;
}

test('loadDefaultGatewayConfig() loads the bundled one-machine default', () => {
  const r = loadDefaultGatewayConfig();
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.equal(r.config.inside.address, '127.0.0.1');
  assert.equal(r.config.outside.address, '127.0.0.2');
  assert.deepEqual(r.config.ports, { ntalk: 5518, otalk: 5517 });
  assert.deepEqual(r.config.relay.ports, { min: 40000, max: 40099 });
  assert.deepEqual(r.config.directory.get('bob'), { user: 'bob', host: 'rc-out' });
});

test('parseGatewayConfig() fills documented defaults into a minimal file', () => {
  const r = parseGatewayConfig(minimal, 'gw.toml');
  assert.ok(r.ok);
  assert.equal(r.config.mode, 'classical');
  assert.deepEqual(r.config.ports, { ntalk: 518, otalk: 517 });
  assert.deepEqual(r.config.outside.daemonPorts, { ntalk: 518, otalk: 517 });
  assert.deepEqual(r.config.relay.ports, { min: 40000, max: 40999 });
  assert.deepEqual(r.config.admin, { host: '127.0.0.1', port: 9518 });
  assert.equal(r.config.relay.sanitize, true);
  assert.equal(r.config.policy.length, 0, 'no rules: default deny');
});

test('parseGatewayConfig() reports TOML syntax errors with line and column', () => {
  const [e] = errorsOf('mode = "classical"\n[inside\n');
  assert.match(e ?? '', /^gw\.toml:2:\d+: /);
});

test('parseGatewayConfig() names the key path of each invalid value', () => {
  const errs = errorsOf(`${minimal}
[relay]
ports = "41000-40000"
[[policy]]
action = "maybe"
[[policy]]
action = "allow"
remote = "10.0.0.0/33x"
`);
  assert.ok(errs.some((e) => e.startsWith('gw.toml: relay.ports: must be a port range')), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('gw.toml: policy[0].action:')), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('gw.toml: policy[1].remote: must be "*", an IPv4 network')), errs.join('\n'));
});

test('parseGatewayConfig() rejects unknown keys and missing sections', () => {
  assert.ok(errorsOf(`${minimal}\n[relay]\nport = "1-2"\n`).some((e) => /relay: unknown key\(s\) "port"/.test(e)));
  assert.ok(errorsOf('[inside]\naddress = "10.1.0.1"\nnetworks = ["10.1.0.0/24"]\n').some((e) => e.startsWith('gw.toml: outside:')));
});

test('parseGatewayConfig() cross-checks addresses against the inside networks', () => {
  const errs = errorsOf(`
[inside]
address = "10.2.0.1"
networks = ["10.1.0.0/24"]
[outside]
address = "10.1.0.9"
hosts = { leak = "10.1.0.7" }
`);
  assert.ok(errs.includes('gw.toml: inside.address: 10.2.0.1 is not in inside.networks'), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('gw.toml: outside.address: 10.1.0.9 lies in inside.networks')));
  assert.ok(errs.some((e) => e.startsWith('gw.toml: outside.hosts.leak: 10.1.0.7 lies in inside.networks')));
});

test('parseGatewayConfig() rejects bad directory targets and modes not built yet', () => {
  const errs = errorsOf(`mode = "pinhole"\n${minimal}\n[directory]\nbob = "bob"\n`);
  assert.ok(errs.some((e) => e.startsWith('gw.toml: directory.bob: must be "user@host"')), errs.join('\n'));
  const errs2 = errorsOf(`mode = "pinhole"\n${minimal}`);
  assert.ok(errs2.some((e) => e.includes('inside.interface: required with mode = "pinhole"')), errs2.join('\n'));
});

test('parseGatewayConfig() reads [admin] hosts (the Host-header allow-list) and refuses a malformed name', () => {
  const r = parseGatewayConfig(`${minimal}[admin]\nlisten = "127.0.0.1:9518"\nhosts = ["gw.example", "10.1.0.1"]\n`, 'gw.toml');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.deepEqual(r.config.admin, { host: '127.0.0.1', port: 9518, hosts: ['gw.example', '10.1.0.1'] });
  assert.match(errorsOf(`${minimal}[admin]\nhosts = ["evil.example:80"]\n`).join('\n'), /admin\.hosts.*host name/);
});

test('parseGatewayConfig() requires an [admin] token off loopback, and tls_cert with tls_key', () => {
  assert.match(errorsOf(`${minimal}[admin]\nlisten = "10.1.0.1:9518"\n`).join('\n'), /admin\.token.*required when listen is not a loopback address/);
  assert.match(errorsOf(`${minimal}[admin]\nlisten = "127.0.0.1:9518"\ntls_cert = "/etc/tg/cert.pem"\n`).join('\n'), /admin\.tls_key.*go together/);
  assert.match(errorsOf(`${minimal}[admin]\nlisten = "127.0.0.1:9518"\ntoken = "short"\n`).join('\n'), /admin\.token/);
  const r = parseGatewayConfig(`${minimal}[admin]\nlisten = "10.1.0.1:9518"\ntoken = "0123456789abcdef-x"\ntls_cert = "c.pem"\ntls_key = "k.pem"\n`, 'gw.toml');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.deepEqual(r.config.admin, { host: '10.1.0.1', port: 9518, token: '0123456789abcdef-x', tls: { certFile: 'c.pem', keyFile: 'k.pem' } });
});
