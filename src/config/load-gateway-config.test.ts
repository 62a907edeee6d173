import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knownKeysAt, loadDefaultGatewayConfig, parseGatewayConfig } from './load-gateway-config.js';
import { gatewayConfigSchema } from './gateway-config.js';
import { formatDiagnostic } from './config-diagnostic.js';

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
  assert.ok(errs.some((e) => e.startsWith('gw.toml:9: relay.ports: must be a port range')), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('gw.toml:11: policy[0].action:')), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('gw.toml:14: policy[1].remote: must be "*", an IPv4 network')), errs.join('\n'));
});

test('parseGatewayConfig() rejects unknown keys and missing sections', () => {
  const unknown = errorsOf(`${minimal}\n[relay]\nport = "1-2"\n`);
  assert.deepEqual(unknown, ['gw.toml:9: relay.port: unknown key (did you mean "ports"?)']);
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
  assert.ok(errs.includes('gw.toml:3: inside.address: 10.2.0.1 is not in inside.networks'), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('gw.toml:6: outside.address: 10.1.0.9 lies in inside.networks')));
  assert.ok(errs.some((e) => e.startsWith('gw.toml:7: outside.hosts.leak: 10.1.0.7 lies in inside.networks')));
});

test('parseGatewayConfig() rejects bad directory targets and modes not built yet', () => {
  const errs = errorsOf(`mode = "pinhole"\n${minimal}\n[directory]\nbob = "bob"\n`);
  assert.ok(errs.some((e) => e.startsWith('gw.toml:10: directory.bob: must be "user@host"')), errs.join('\n'));
  const errs2 = errorsOf(`mode = "pinhole"\n${minimal}`);
  assert.ok(errs2.some((e) => e.includes('inside.interface: required with mode = "pinhole"')), errs2.join('\n'));
});

function warningsOf(text: string): string[] {
  const r = parseGatewayConfig(text, 'gw.toml');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.warnings.map((w) => formatDiagnostic('gw.toml', w));
}

const allowAll = '[[policy]]\naction = "allow"\n';

test('parseGatewayConfig() refuses an admin port beyond 65535 and an address that is not a dotted quad (issue 18)', () => {
  assert.deepEqual(errorsOf(`${minimal}[admin]\nlisten = "127.0.0.1:99999"\n`), ['gw.toml:8: admin.listen: port 99999 is out of range (1-65535)']);
  assert.deepEqual(errorsOf(`${minimal}[admin]\nlisten = "127.0.0.1:0"\n`), ['gw.toml:8: admin.listen: port 0 is out of range (1-65535)']);
  assert.ok(errorsOf(`${minimal}[admin]\nlisten = "999.0.0.1:9518"\ntoken = "0123456789abcdef"\n`).some((e) => e.includes('admin.listen: 999.0.0.1 is not a dotted-quad')));
  assert.ok(errorsOf(`${minimal}[admin]\nlisten = "127.0.0.1:518"\n`).some((e) => e.includes('admin.listen: port 518 is a control port')));
});

test('parseGatewayConfig() refuses relay ranges that overlap a daemon port or the admin port (issue 18)', () => {
  const daemon = errorsOf(`${minimal}daemon_ports = { ntalk = 40005 }\n`);
  assert.ok(daemon.includes('gw.toml:7: relay.ports: overlaps outside.daemon_ports.ntalk 40005'), daemon.join('\n'));
  const admin = errorsOf(`${minimal}[relay]\nports = "9000-9999"\n`);
  assert.ok(admin.includes('gw.toml:8: relay.ports: overlaps the admin listener port 9518'), admin.join('\n'));
  const pin = errorsOf(`mode = "pinhole"\n${minimal.replace('[outside]', 'interface = "lan0"\n[outside]')}interface = "wan0"\n[pinhole]\nports = "9500-9600"\n`);
  assert.ok(pin.some((e) => e.includes('pinhole.ports: overlaps the admin listener port 9518')), pin.join('\n'));
});

test('parseGatewayConfig() refuses an audit path that names a directory (issue 18)', () => {
  for (const file of ['/var/log/talkgate/', '.', '/var/log/..']) {
    const errs = errorsOf(`${minimal}[audit]\nfile = "${file}"\n`);
    assert.ok(errs.some((e) => e.startsWith('gw.toml:8: audit.file: ') && e.includes('names a directory')), errs.join('\n'));
  }
});

test('parseGatewayConfig() never echoes a control character from a key (issue 18)', () => {
  const errs = errorsOf(`${minimal}hosts = { "ev\\u001b[2Jil" = "10.1.0.9" }\n`);
  assert.ok(errs.length > 0);
  for (const e of errs) assert.ok(!/[\x00-\x1f\x7f-\x9f]/.test(e), JSON.stringify(e));
  assert.ok(errs.some((e) => e.startsWith('gw.toml:7: outside.hosts.ev^[[2Jil: ')), errs.join('\n'));
  const unknown = errorsOf(`${minimal}[relay]\n"x\\u009b" = 1\n`);
  for (const e of unknown) assert.ok(!/[\x00-\x1f\x7f-\x9f]/.test(e), JSON.stringify(e));
});

test('parseGatewayConfig() suggests the nearest known key, or lists the known ones', () => {
  assert.deepEqual(errorsOf(`${minimal}[limits]\nmax_call = 4\n`), ['gw.toml:8: limits.max_call: unknown key (did you mean "max_calls"?)']);
  assert.ok(errorsOf(`${minimal}[[policy]]\nactoin = "allow"\n`).includes('gw.toml:8: policy[0].actoin: unknown key (did you mean "action"?)'));
  const far = errorsOf(`${minimal}[admin]\nbanana = 1\nlisten = "127.0.0.1:1"\n`);
  assert.deepEqual(far, ['gw.toml:8: admin.banana: unknown key (known keys here: listen, hosts, token, tls_cert, tls_key)']);
  assert.deepEqual(errorsOf(`mdoe = "classical"\n${minimal}`), [
    'gw.toml:1: mdoe: unknown key (did you mean "mode"?)',
  ]);
});

test('knownKeysAt() walks defaults, arrays and records of the schema', () => {
  assert.deepEqual(knownKeysAt(gatewayConfigSchema, ['relay']), ['ports', 'idle_timeout', 'max_duration', 'sanitize']);
  assert.deepEqual(knownKeysAt(gatewayConfigSchema, ['policy', 3]), ['action', 'direction', 'user', 'remote']);
  assert.deepEqual(knownKeysAt(gatewayConfigSchema, ['inside', 'hosts']), []);
});

test('parseGatewayConfig() warns, naming the key, when no policy rule allows a call', () => {
  assert.deepEqual(warningsOf(minimal), [
    'gw.toml: policy: warning: no [[policy]] rule: every call will be refused (the policy denies by default; rules match first to last)',
  ]);
  assert.deepEqual(warningsOf(`${minimal}[[policy]]\naction = "deny"\n`), ['gw.toml:7: policy: warning: no rule allows anything: every call will be refused']);
  assert.deepEqual(warningsOf(`${minimal}${allowAll}`), []);
});

test('parseGatewayConfig() warns when the admin listener is not on loopback', () => {
  const w = warningsOf(`${minimal}${allowAll}[admin]\nlisten = "10.1.0.1:9518"\ntoken = "0123456789abcdef"\n`);
  assert.deepEqual(w, ['gw.toml:10: admin.listen: warning: 10.1.0.1 is not a loopback address: anyone who can reach it reads the live calls and metrics']);
});

test('parseGatewayConfig() warns when a network has host bits set', () => {
  const w = warningsOf(`${minimal.replace('networks = ["10.1.0.0/24"]', 'networks = ["10.1.0.0/24",\n  "10.3.0.1/24"]')}[[policy]]\naction = "allow"\nremote = "192.0.2.7/24"\n`);
  assert.deepEqual(w, [
    'gw.toml:5: inside.networks[1]: warning: 10.3.0.1/24 has host bits set (it means 10.3.0.0/24)',
    'gw.toml:10: policy[0].remote: warning: 192.0.2.7/24 has host bits set (it means 192.0.2.0/24)',
  ]);
});

test('parseGatewayConfig() says which keys belong to another mode', () => {
  assert.deepEqual(errorsOf(`${minimal}[pinhole]\nhole_timeout = 5\n`), ['gw.toml:7: pinhole: not used with mode = "classical" (it belongs to another mode)']);
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
