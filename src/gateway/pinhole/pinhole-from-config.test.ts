import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGatewayConfig } from '../../config/load-gateway-config.js';
import { systemClock } from '../../shared/clock.js';
import { cidrText, createPinholeDataPath, pinholeSettings } from './pinhole-from-config.js';
import { renderReplaceTable } from '../../firewall/nft-ruleset.js';
import { DEFAULT_HOLE_TIMEOUT_S, type GatewayConfig, type PinholeModeConfig } from '../../config/gateway-config.js';

const base = `
mode = "pinhole"
[inside]
address = "10.1.0.1"
interface = "lan0"
networks = ["10.1.0.1/24"]
[outside]
address = "198.51.100.1"
interface = "wan0"
`;

function asPinhole(c: GatewayConfig): PinholeModeConfig {
  if (c.mode !== 'pinhole') throw new assert.AssertionError({ message: `mode ${c.mode}, not pinhole` });
  return c;
}

function load(extra = '', head = base): ReturnType<typeof parseGatewayConfig> {
  return parseGatewayConfig(`${head}${extra}`, 'gw.toml');
}

test('mode = "pinhole" with defaults: own table talkgate_pinhole, masquerade of the inside networks (host bits cleared)', () => {
  const r = load();
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const s = pinholeSettings(asPinhole(r.config));
  assert.deepEqual(s.table, {
    family: 'ip',
    table: 'talkgate_pinhole',
    deployment: 'own',
    prefix: '',
    outsideInterface: 'wan0',
    insideInterface: 'lan0',
    insideNetworks: ['10.1.0.0/24'],
    outbound: 'holes',
  });
  assert.deepEqual(s.ports, { min: 41000, max: 41999 });
  assert.equal(s.holeTimeoutSeconds, DEFAULT_HOLE_TIMEOUT_S);
});

test('[pinhole] own_firewall = false: our prefixed chains/sets in the administrator\'s table, no masquerade', () => {
  const r = load('[pinhole]\ntable = "filter"\nown_firewall = false\nprefix = "tg_"\nports = "50000-50009"\nhole_timeout = 30\noutbound = "open"\n');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const s = pinholeSettings(asPinhole(r.config));
  assert.equal(s.table.deployment, 'admin');
  assert.equal(s.table.table, 'filter');
  assert.equal(s.table.prefix, 'tg_');
  assert.deepEqual(s.table.insideNetworks, []);
  assert.equal(s.table.outbound, 'open');
  assert.deepEqual(s.ports, { min: 50000, max: 50009 });
  assert.equal(s.holeTimeoutSeconds, 30);
});

test('[ha]: the inside is SNATed to the virtual outside address (not masqueraded) and invalid packets are dropped before NAT', () => {
  const r = load('[ha]\nrole = "backup"\n');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const s = pinholeSettings(asPinhole(r.config));
  assert.equal(s.table.haOutsideAddress, '198.51.100.1');
  const text = JSON.stringify(renderReplaceTable(s.table));
  assert.ok(!text.includes('masquerade'), text);
  assert.ok(text.includes('{"snat":{"family":"ip","addr":"198.51.100.1"}}'), text);
  assert.ok(text.includes('"name":"hainvalid","type":"filter","hook":"prerouting","prio":-150'), text);
  assert.ok(/"chain":"hainvalid","expr":\[\{"match":\{"op":"in","left":\{"ct":\{"key":"state"\}\},"right":"invalid"\}\},\{"drop":null\}\]/.test(text), text);
  // Without [ha] neither appears.
  const plain = JSON.stringify(renderReplaceTable(pinholeSettings(asPinhole((load() as { config: GatewayConfig }).config)).table));
  assert.ok(plain.includes('masquerade') && !plain.includes('hainvalid') && !plain.includes('snat'));
});

test('pinhole configuration errors name their key', () => {
  const errs = (text: string, head = base): string[] => {
    const r = load(text, head);
    return r.ok ? [] : r.errors;
  };
  assert.ok(errs('[pinhole]\nports = "41000-40000"\n').some((e) => /^gw\.toml:\d+: pinhole\.ports: must be a port range/.test(e)));
  assert.ok(errs('[pinhole]\nports = "500-600"\n').some((e) => e.includes('pinhole.ports: must be >= 1024')));
  assert.ok(errs('[pinhole]\nports = "500-600"\n[ports]\nntalk = 518\n').some((e) => e.includes('pinhole.ports: overlaps the control port 518')));
  assert.ok(errs('[pinhole]\ntable = "bad name"\n').some((e) => /^gw\.toml:\d+: pinhole\.table:/.test(e)));
  assert.ok(errs('[pinhole]\nhole_timeout = 0\n').some((e) => /^gw\.toml:\d+: pinhole\.hole_timeout:/.test(e)));
  assert.ok(errs('[pinhole]\nbogus = 1\n').some((e) => e.includes('pinhole.bogus: unknown key')));
  assert.deepEqual(errs('[privileges]\nuser = "nobody"\n'), [], '[privileges] names the worker user in every mode');
  const noIf = base.replace('interface = "wan0"\n', '');
  assert.ok(errs('', noIf).some((e) => e.includes('outside.interface: required with mode = "pinhole"')));
});

test('[pinhole] nft: "lib" (libnftables in process) by default, "exec" on request; anything else is an error', () => {
  const backendOf = (extra: string): unknown => {
    const r = load(extra);
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    const lines: object[] = [];
    const logger = { info: (o: object) => void lines.push(o), warn: (o: object) => void lines.push(o), debug: () => undefined };
    createPinholeDataPath({ config: asPinhole(r.config), clock: systemClock, logger, events: { onConnected: () => undefined, onEnded: () => undefined } });
    return lines;
  };
  const d = load();
  assert.ok(d.ok);
  assert.equal(asPinhole(d.config).pinhole.nft, 'lib');
  // libnftables1 is installed wherever nftables is (CI); loading it needs no privilege.
  assert.deepEqual(backendOf(''), [{ nft: 'lib' }]);
  assert.deepEqual(backendOf('[pinhole]\nnft = "exec"\n'), [{ nft: 'exec' }]);
  const r = load('[pinhole]\nnft = "fork"\n');
  assert.ok(!r.ok && r.errors.some((e) => /^gw\.toml:\d+: pinhole\.nft:/.test(e)), r.ok ? 'accepted' : r.errors.join('\n'));
});

test('cidrText() clears host bits', () => {
  assert.equal(cidrText({ network: 0x0a010000, prefix: 24 }), '10.1.0.0/24');
  assert.equal(cidrText({ network: 0xc0a80101, prefix: 32 }), '192.168.1.1/32');
});
