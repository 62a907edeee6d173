import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGatewayConfig } from './load-gateway-config.js';
import { checkModePrerequisites, type PrerequisiteProbes, type ProbeResult } from './mode-prerequisites.js';
import type { GatewayConfig } from './gateway-config.js';

const present: ProbeResult = { state: 'present' };
const ALL_CAPS = 0x1ff_ffff_ffffn;

/** A machine with everything; `over` removes pieces. */
function probes(over: Partial<PrerequisiteProbes> = {}): PrerequisiteProbes {
  return {
    libnftables: () => present,
    libnetfilterConntrack: () => present,
    program: () => present,
    kernelFeature: () => present,
    ipForwarding: () => true,
    effectiveCapabilities: () => ALL_CAPS,
    unprivilegedPortStart: () => 1024,
    ...over,
  };
}

const sides = `[inside]
address = "10.1.0.1"
interface = "lan0"
networks = ["10.1.0.0/24"]
[outside]
address = "198.51.100.1"
interface = "wan0"
`;

function config(head: string, tail = ''): GatewayConfig {
  const r = parseGatewayConfig(`${head}\n${sides}${tail}`, 't');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.config;
}

const pinhole = config('mode = "pinhole"');
const transparent = config('mode = "transparent"');
const classical = config('mode = "classical"', '[ports]\nntalk = 5518\notalk = 5517\n');
const codes = (c: GatewayConfig, p: PrerequisiteProbes): string[] => checkModePrerequisites(c, p).map((x) => `${x.severity}:${x.code}`);

test('checkModePrerequisites() finds nothing missing on a complete machine', () => {
  for (const c of [pinhole, transparent, classical]) assert.deepEqual(codes(c, probes()), []);
});

test('checkModePrerequisites() names libnetfilter-conntrack3 when the pinhole mode cannot load it', () => {
  const missing = checkModePrerequisites(pinhole, probes({ libnetfilterConntrack: () => ({ state: 'missing', detail: 'cannot load libnetfilter_conntrack.so.3' }) }));
  assert.equal(missing.length, 1);
  assert.equal(missing[0]?.code, 'libnetfilter-conntrack-missing');
  assert.equal(missing[0]?.severity, 'error');
  assert.equal(missing[0]?.package, 'libnetfilter-conntrack3');
  assert.match(missing[0]?.message ?? '', /install libnetfilter-conntrack3/);
  // A pinhole gateway with a remote middlebox needs no local conntrack.
  const remote = config('mode = "pinhole"', '[middlebox]\npcp = "10.1.0.254"\n');
  assert.deepEqual(codes(remote, probes({ libnetfilterConntrack: () => ({ state: 'missing', detail: 'x' }) })), []);
});

test('checkModePrerequisites() falls back from libnftables to nft with a warning, and fails without either', () => {
  const noLib = { libnftables: (): ProbeResult => ({ state: 'missing', detail: 'cannot load libnftables.so.1' }) };
  assert.deepEqual(codes(pinhole, probes(noLib)), ['warning:libnftables-fallback']);
  const neither = probes({ ...noLib, program: () => ({ state: 'missing', detail: 'nft not found' }), kernelFeature: () => ({ state: 'unknown', detail: 'nft is not installed' }) });
  const found = checkModePrerequisites(pinhole, neither);
  assert.deepEqual(found.map((p) => p.code), ['libnftables-missing', 'kernel-not-checked']);
  assert.equal(found[0]?.package, 'libnftables1');
});

test('checkModePrerequisites() needs nft (nftables) for the transparent mode and for pinhole.nft = "exec"', () => {
  const noNft = probes({ program: () => ({ state: 'missing', detail: 'nft not found' }) });
  assert.deepEqual(checkModePrerequisites(transparent, noNft).map((p) => [p.code, p.package, p.key]), [['nft-missing', 'nftables', 'mode']]);
  const exec = config('mode = "pinhole"', '[pinhole]\nnft = "exec"\n');
  assert.deepEqual(checkModePrerequisites(exec, noNft).map((p) => [p.code, p.package, p.key]), [['nft-missing', 'nftables', 'pinhole.nft']]);
  assert.deepEqual(codes(classical, noNft), []);
});

test('checkModePrerequisites() reports the kernel features each mode needs', () => {
  const asked: string[] = [];
  const without = (f: string): PrerequisiteProbes =>
    probes({ kernelFeature: (x) => (asked.push(x), x === f ? { state: 'missing', detail: 'Error: Could not process rule: No such file or directory' } : present) });
  assert.deepEqual(codes(transparent, without('tproxy')), ['error:kernel-tproxy-missing']);
  assert.deepEqual(codes(pinhole, without('conntrack')), ['error:kernel-conntrack-missing']);
  assert.deepEqual(codes(pinhole, without('nf_tables')), ['error:kernel-nf-tables-missing']);
  assert.ok(!asked.includes('tproxy') || asked.filter((a) => a === 'tproxy').length === 1, 'tproxy asked only for transparent');
});

test('checkModePrerequisites() needs forwarding for local holes (error) and flags it for transparent (warning)', () => {
  const off = probes({ ipForwarding: () => false });
  assert.deepEqual(codes(pinhole, off), ['error:forwarding-disabled']);
  assert.deepEqual(codes(transparent, off), ['warning:forwarding-disabled']);
  assert.deepEqual(codes(classical, off), []);
});

test('checkModePrerequisites() needs CAP_NET_ADMIN for nftables modes and CAP_NET_BIND_SERVICE for low ports', () => {
  const noCaps = probes({ effectiveCapabilities: () => 0n });
  assert.deepEqual(codes(classical, noCaps), []);
  const low = checkModePrerequisites(config('mode = "classical"'), noCaps);
  assert.deepEqual(low.map((p) => [p.code, p.key]), [['cap-net-bind-service-missing', 'ports.ntalk'], ['cap-net-bind-service-missing', 'ports.otalk']]);
  const pin = codes(pinhole, noCaps);
  assert.ok(pin.includes('error:cap-net-admin-missing'), pin.join());
  assert.ok(!pin.some((c) => c.includes('kernel')), 'no kernel probe without CAP_NET_ADMIN');
  // Only CAP_NET_BIND_SERVICE (bit 10): low ports fine, nftables not.
  assert.deepEqual(codes(config('mode = "classical"'), probes({ effectiveCapabilities: () => 1n << 10n })), []);
  // A lowered ip_unprivileged_port_start needs no capability.
  assert.deepEqual(codes(config('mode = "classical"'), probes({ effectiveCapabilities: () => 0n, unprivilegedPortStart: () => 0 })), []);
});

test('[ha] needs conntrackd (package conntrackd) and arping (iputils-arping); conntrackd = "" needs no conntrackd', () => {
  const ha = config('mode = "pinhole"', '[ha]\n');
  const none = probes({ program: (name) => (name === 'conntrackd' || name === 'arping' ? { state: 'missing', detail: `${name} not found` } : present) });
  const found = checkModePrerequisites(ha, none).filter((p) => p.severity === 'error');
  assert.deepEqual(found.map((p) => [p.code, p.package, p.key]), [['conntrackd-missing', 'conntrackd', 'ha.conntrackd'], ['arping-missing', 'iputils-arping', 'ha']]);
  const without = checkModePrerequisites(config('mode = "pinhole"', '[ha]\nconntrackd = ""\n'), none).map((p) => p.code);
  assert.deepEqual(without, ['arping-missing']);
  assert.deepEqual(checkModePrerequisites(ha, probes()), []);
  // Without [ha] neither is asked for.
  assert.deepEqual(checkModePrerequisites(pinhole, none), []);
});
