/**
 * Loading the gateway configuration: TOML text → schema validation → cross-field checks →
 * {@link GatewayConfig}. Errors come back as data, one readable line per problem, each naming
 * the key path (`relay.ports: must be a port range ...`), so `talkgate gateway --check` can print them.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml, TomlError } from 'smol-toml';
import { gatewayConfigSchema, normaliseGatewayConfig, type GatewayConfig, type PinholeModeConfig, type TransparentConfig } from './gateway-config.js';
import { cidrContains, isLoopback } from '../shared/ipv4-cidr.js';

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; errors: string[] };

/** Name of the bundled default configuration (the single source of the embedded default). */
export const DEFAULT_CONFIG_FILE = 'examples/gateway-default.toml';

function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** Validates TOML `text`; `source` names the file in messages. */
export function parseGatewayConfig(text: string, source: string): ConfigResult {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (err: unknown) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0] ?? err.message;
      return { ok: false, errors: [`${source}:${err.line}:${err.column}: ${first}`] };
    }
    throw err;
  }
  const parsed = gatewayConfigSchema.safeParse(doc);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => {
        if (i.code === 'unrecognized_keys') return `${source}: ${keyPath(i.path)}: unknown key(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
        return `${source}: ${keyPath(i.path)}: ${i.message}`;
      }),
    };
  }
  const config = normaliseGatewayConfig(parsed.data);
  const errors = crossCheck(config).map((e) => `${source}: ${e}`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

function crossCheck(c: GatewayConfig): string[] {
  const errors: string[] = [];
  // Loopback (127/8) is exempt from the side checks: the one-machine default puts both "sides" there.
  const inInside = (a: string): boolean => !isLoopback(a) && c.inside.networks.some((n) => cidrContains(n, a));
  if (!c.inside.networks.some((n) => cidrContains(n, c.inside.address))) errors.push(`inside.address: ${c.inside.address} is not in inside.networks`);
  if (c.inside.address === c.outside.address) errors.push('outside.address: must differ from inside.address');
  if (inInside(c.outside.address)) {
    errors.push(`outside.address: ${c.outside.address} lies in inside.networks (the outside must not see inside addresses)`);
  }
  if (c.ports.ntalk === c.ports.otalk) errors.push('ports.otalk: must differ from ports.ntalk');
  for (const [name, ip] of c.outside.hosts) {
    if (inInside(ip)) errors.push(`outside.hosts.${name}: ${ip} lies in inside.networks`);
  }
  for (const [name, ip] of c.inside.hosts) {
    if (!c.inside.networks.some((n) => cidrContains(n, ip)) && !isLoopback(ip)) errors.push(`inside.hosts.${name}: ${ip} is not in inside.networks`);
  }
  // With [middlebox] pcp the holes live on the remote middlebox: no local nftables to check.
  if (c.mode === 'pinhole' && c.middlebox === undefined) errors.push(...pinholeChecks(c));
  if (c.mode === 'transparent') errors.push(...transparentChecks(c));
  const relaySize = c.relay.ports.max - c.relay.ports.min + 1;
  for (const p of [c.ports.ntalk, c.ports.otalk]) {
    if (p >= c.relay.ports.min && p <= c.relay.ports.max) errors.push(`relay.ports: overlaps the control port ${p}`);
  }
  if (relaySize < 1) errors.push('relay.ports: empty range');
  return errors;
}

/** Linux interface names: IFNAMSIZ 16 minus the NUL, no '/', whitespace or ':' (alias syntax). */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** mode = "transparent": the interfaces interception applies to, and the privileges it keeps. */
function transparentChecks(c: TransparentConfig): string[] {
  const errors: string[] = [];
  for (const [key, name] of [['inside.interface', c.inside.interface], ['outside.interface', c.outside.interface]] as const) {
    if (name === undefined) errors.push(`${key}: required with mode = "transparent" (the interface talk traffic is intercepted on)`);
    else if (!IFNAME.test(name)) errors.push(`${key}: ${JSON.stringify(name)} is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`);
  }
  if (c.inside.interface !== undefined && c.inside.interface === c.outside.interface) {
    errors.push('outside.interface: must differ from inside.interface');
  }
  const tp = c.transparent.port;
  if (tp >= c.relay.ports.min && tp <= c.relay.ports.max) errors.push(`transparent.port: ${tp} lies in relay.ports`);
  if (tp === c.ports.ntalk || tp === c.ports.otalk) errors.push(`transparent.port: ${tp} is a control port`);
  return errors;
}

/** mode = "pinhole": its nftables rules name both interfaces; its ports avoid the control ports. */
function pinholeChecks(c: PinholeModeConfig): string[] {
  const errors: string[] = [];
  for (const [key, name] of [['inside.interface', c.inside.interface], ['outside.interface', c.outside.interface]] as const) {
    if (name === undefined) errors.push(`${key}: required with mode = "pinhole" (the holes' rules name it)`);
    else if (!IFNAME.test(name)) errors.push(`${key}: ${JSON.stringify(name)} is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`);
  }
  if (c.inside.interface !== undefined && c.inside.interface === c.outside.interface) {
    errors.push('outside.interface: must differ from inside.interface');
  }
  const p = c.pinhole;
  for (const port of [c.ports.ntalk, c.ports.otalk]) {
    if (port >= p.ports.min && port <= p.ports.max) errors.push(`pinhole.ports: overlaps the control port ${port}`);
  }
  if (p.ports.min < 1024) errors.push('pinhole.ports: must be >= 1024 (ports below are refused, as ftp-proxy does)');
  return errors;
}

/** Reads and validates a configuration file. */
export function loadGatewayConfigFile(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    return { ok: false, errors: [`${path}: cannot read: ${(err as Error).message}`] };
  }
  return parseGatewayConfig(text, path);
}

/** The package root (the directory holding talkgate's package.json), from src/ or dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'examples'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`Cannot find the talkgate package root above ${fileURLToPath(import.meta.url)}`);
}

/** Path of the bundled default configuration file. */
export function defaultGatewayConfigPath(): string {
  return join(packageRoot(), DEFAULT_CONFIG_FILE);
}

/** The embedded default (one machine, no root): the bundled examples/gateway-default.toml. */
export function loadDefaultGatewayConfig(): ConfigResult {
  return loadGatewayConfigFile(defaultGatewayConfigPath());
}
