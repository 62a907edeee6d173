/**
 * Loading the gateway configuration: TOML text → schema validation → cross-field checks →
 * {@link GatewayConfig}. Errors come back as data, one readable line per problem, each naming
 * the line and key path (`gw.toml:12: relay.ports: must be a port range ...`), so
 * `talkgate gateway --check` and a rejected reload can print them; an unknown key names the
 * nearest known one. Valid-but-suspicious settings (no policy rule, admin listener off loopback,
 * host bits in a network) come back as warnings beside the configuration.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { gatewayConfigSchema, normaliseGatewayConfig, type GatewayConfig, type PinholeModeConfig, type RawGatewayConfig, type TransparentConfig } from './gateway-config.js';
import { cidrContains, ipv4ToInt, isLoopback, parseCidr, type Ipv4Cidr } from '../shared/ipv4-cidr.js';
import { isIPv4 } from '../protocol/wire.js';
import { formatDiagnostic, formatKeyPath, type ConfigDiagnostic, type ConfigProblemCode, type DiagnosticSeverity } from './config-diagnostic.js';
import { locateTomlKeys, type KeyPath } from './toml-key-lines.js';
import { nearestKey } from './nearest-key.js';

/** The highest port number (16-bit port fields, RFC 768 / RFC 793). */
const MAX_PORT = 65_535;

/**
 * A loaded configuration with the warnings it raised, or the errors that refuse it: `errors` are
 * the printed lines (`file:line: key: message`), `diagnostics` the same as data.
 */
export type ConfigResult =
  | { ok: true; config: GatewayConfig; warnings: ConfigDiagnostic[] }
  | { ok: false; errors: string[]; diagnostics: ConfigDiagnostic[] };

/** Name of the bundled default configuration (the single source of the embedded default). */
export const DEFAULT_CONFIG_FILE = 'examples/gateway-default.toml';

/** A problem before it is located in the text. */
interface Problem {
  readonly severity: DiagnosticSeverity;
  readonly code: ConfigProblemCode;
  readonly path: KeyPath;
  readonly message: string;
  /** Where to point when `path` itself is not written in the file (the other side of a conflict). */
  readonly related?: KeyPath;
}

const error = (path: KeyPath, message: string, code: ConfigProblemCode = 'conflict'): Problem => ({ severity: 'error', code, path, message });
const conflict = (path: KeyPath, message: string, related: KeyPath): Problem => ({ severity: 'error', code: 'conflict', path, message, related });
const warning = (path: KeyPath, message: string): Problem => ({ severity: 'warning', code: 'suspicious', path, message });

function refused(source: string, diagnostics: ConfigDiagnostic[]): ConfigResult {
  return { ok: false, errors: diagnostics.map((d) => formatDiagnostic(source, d)), diagnostics };
}

/** Validates TOML `text`; `source` names the file in messages. */
export function parseGatewayConfig(text: string, source: string): ConfigResult {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (err: unknown) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0] ?? err.message;
      return refused(source, [{ severity: 'error', code: 'toml-syntax', key: 'syntax', message: first, line: err.line, column: err.column }]);
    }
    throw err;
  }
  const lines = locateTomlKeys(text);
  const locate = (p: Problem): ConfigDiagnostic => {
    const line = lines.lineOf(p.path) ?? (p.related !== undefined ? lines.lineOf(p.related) : undefined);
    return { severity: p.severity, code: p.code, key: formatKeyPath(p.path), message: p.message, ...(line !== undefined ? { line } : {}) };
  };
  const parsed = gatewayConfigSchema.safeParse(doc);
  if (!parsed.success) {
    const mode = (doc as { mode?: unknown }).mode;
    return refused(source, parsed.error.issues.flatMap((i) => schemaProblems(i, typeof mode === 'string' ? mode : 'classical')).map(locate));
  }
  const config = normaliseGatewayConfig(parsed.data);
  const errors = crossCheck(config);
  if (errors.length > 0) return refused(source, errors.map(locate));
  return { ok: true, config, warnings: configWarnings(parsed.data, config).map(locate) };
}

/**
 * One zod issue as problems: an unrecognized_keys issue becomes one per key, with a suggestion,
 * or, for a key another mode uses (`[pinhole]` with mode = "classical"), which mode that is.
 */
function schemaProblems(i: z.core.$ZodIssue, mode: string): Problem[] {
  if (i.code !== 'unrecognized_keys') return [error(i.path, i.message, 'invalid-value')];
  const known = knownKeysAt(gatewayConfigSchema, i.path);
  return i.keys.map((k) => {
    if (known.includes(k)) return error([...i.path, k], `not used with mode = ${JSON.stringify(mode)} (it belongs to another mode)`, 'unknown-key');
    const near = nearestKey(k, known);
    const hint = near !== undefined ? `did you mean "${near}"?` : known.length > 0 ? `known keys here: ${known.join(', ')}` : '';
    return error([...i.path, k], `unknown key${hint !== '' ? ` (${hint})` : ''}`, 'unknown-key');
  });
}

/** zod v4's definition record, read structurally (only the fields the walk needs). */
interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, unknown>;
  readonly innerType?: unknown;
  readonly in?: unknown;
  readonly out?: unknown;
  readonly element?: unknown;
  readonly valueType?: unknown;
  readonly options?: readonly unknown[];
  readonly left?: unknown;
  readonly right?: unknown;
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}

/** Bound on the schema nodes one lookup visits (the schema is a few dozen nodes deep and wide). */
const MAX_SCHEMA_STEPS = 1024;

/**
 * The keys the object schema at `path` allows (empty when the path leads to no fixed object).
 * Through a union (the mode-discriminated configuration) it is every option's keys, in order.
 */
export function knownKeysAt(schema: unknown, path: KeyPath): string[] {
  const budget = { steps: MAX_SCHEMA_STEPS };
  return [...new Set(keysAt(schema, path, 0, budget))];
}

function keysAt(schema: unknown, path: KeyPath, from: number, budget: { steps: number }): string[] {
  let cur: unknown = schema;
  let i = from;
  while (budget.steps-- > 0) {
    const d = defOf(cur);
    if (d === undefined) return [];
    if (d.type === 'default' || d.type === 'prefault' || d.type === 'optional' || d.type === 'nullable') cur = d.innerType;
    // A pipe: a transform's input (portRange) or a preprocess's output (the whole configuration).
    else if (d.type === 'pipe') return [...keysAt(d.in, path, i, budget), ...keysAt(d.out, path, i, budget)];
    else if (d.type === 'union' || d.type === 'intersection') return (d.options ?? [d.left, d.right]).flatMap((o) => keysAt(o, path, i, budget));
    else if (i === path.length) return d.type === 'object' && d.shape !== undefined ? Object.keys(d.shape) : [];
    else if (d.type === 'object') cur = d.shape?.[String(path[i++])];
    else if (d.type === 'array') {
      i++;
      cur = d.element;
    } else if (d.type === 'record') {
      i++;
      cur = d.valueType;
    } else return [];
  }
  return [];
}

/** True when the port range `r` contains `port`. */
const within = (r: { readonly min: number; readonly max: number }, port: number): boolean => port >= r.min && port <= r.max;

function crossCheck(c: GatewayConfig): Problem[] {
  const errors: Problem[] = [];
  // Loopback (127/8) is exempt from the side checks: the one-machine default puts both "sides" there.
  const inInside = (a: string): boolean => !isLoopback(a) && c.inside.networks.some((n) => cidrContains(n, a));
  if (!c.inside.networks.some((n) => cidrContains(n, c.inside.address))) errors.push(error(['inside', 'address'], `${c.inside.address} is not in inside.networks`));
  if (c.inside.address === c.outside.address) errors.push(error(['outside', 'address'], 'must differ from inside.address'));
  if (inInside(c.outside.address)) {
    errors.push(error(['outside', 'address'], `${c.outside.address} lies in inside.networks (the outside must not see inside addresses)`));
  }
  if (c.ports.ntalk === c.ports.otalk) errors.push(error(['ports', 'otalk'], 'must differ from ports.ntalk'));
  for (const [name, ip] of c.outside.hosts) {
    if (inInside(ip)) errors.push(error(['outside', 'hosts', name], `${ip} lies in inside.networks`));
  }
  for (const [name, ip] of c.inside.hosts) {
    if (!c.inside.networks.some((n) => cidrContains(n, ip)) && !isLoopback(ip)) errors.push(error(['inside', 'hosts', name], `${ip} is not in inside.networks`));
  }
  // With [middlebox] pcp the holes live on the remote middlebox: no local nftables to check.
  if (c.mode === 'pinhole' && c.middlebox === undefined) errors.push(...pinholeChecks(c));
  if (c.mode === 'transparent') errors.push(...transparentChecks(c));
  errors.push(...adminChecks(c), ...auditChecks(c));
  const relaySize = c.relay.ports.max - c.relay.ports.min + 1;
  for (const p of [c.ports.ntalk, c.ports.otalk]) {
    if (within(c.relay.ports, p)) errors.push(conflict(['relay', 'ports'], `overlaps the control port ${p}`, ['ports']));
  }
  // The relay listens on both faces; a daemon reached on this machine (loopback, one-machine set-ups) or the admin listener would collide.
  for (const [sideName, s] of [['inside', c.inside], ['outside', c.outside]] as const) {
    for (const [kind, p] of [['ntalk', s.daemonPorts.ntalk], ['otalk', s.daemonPorts.otalk]] as const) {
      if (within(c.relay.ports, p)) errors.push(conflict(['relay', 'ports'], `overlaps ${sideName}.daemon_ports.${kind} ${p}`, [sideName, 'daemon_ports', kind]));
    }
  }
  if (c.admin !== undefined && within(c.relay.ports, c.admin.port)) {
    errors.push(conflict(['relay', 'ports'], `overlaps the admin listener port ${c.admin.port}`, ['admin', 'listen']));
  }
  if (relaySize < 1) errors.push(error(['relay', 'ports'], 'empty range'));
  return errors;
}

/** [admin] listen: a real IPv4 address and a port in 1-65535, apart from the control ports. */
function adminChecks(c: GatewayConfig): Problem[] {
  const a = c.admin;
  if (a === undefined) return [];
  const errors: Problem[] = [];
  if (!isIPv4(a.host)) errors.push(error(['admin', 'listen'], `${a.host} is not a dotted-quad IPv4 address`, 'invalid-value'));
  if (a.port < 1 || a.port > MAX_PORT) errors.push(error(['admin', 'listen'], `port ${a.port} is out of range (1-${MAX_PORT})`, 'invalid-value'));
  if (a.port === c.ports.ntalk || a.port === c.ports.otalk) errors.push(error(['admin', 'listen'], `port ${a.port} is a control port (ports.ntalk/ports.otalk)`));
  return errors;
}

/** [audit] file: a file path (not a directory path), no NUL. Whether it is writable is --check's business. */
function auditChecks(c: GatewayConfig): Problem[] {
  const f = c.audit?.file;
  if (f === undefined) return [];
  if (f.includes('\0')) return [error(['audit', 'file'], 'contains a NUL character', 'invalid-value')];
  if (f.endsWith('/') || f === '.' || f === '..' || f.endsWith('/.') || f.endsWith('/..')) {
    return [error(['audit', 'file'], `${JSON.stringify(f)} names a directory; give a file path like /var/log/talkgate/audit.jsonl`, 'invalid-value')];
  }
  return [];
}

/** True when the network text `text` (a.b.c.d/n) has bits set below its prefix. */
function hasHostBits(text: string): boolean {
  const cidr = parseCidr(text);
  const slash = text.indexOf('/');
  if (cidr === undefined || slash < 0) return false;
  return ipv4ToInt(text.slice(0, slash)) !== cidr.network;
}

/** What is valid but likely a mistake; warnings never refuse a configuration. */
function configWarnings(raw: RawGatewayConfig, c: GatewayConfig): Problem[] {
  const out: Problem[] = [];
  if (c.policy.length === 0) {
    out.push(warning(['policy'], 'no [[policy]] rule: every call will be refused (the policy denies by default; rules match first to last)'));
  } else if (!c.policy.some((r) => r.action === 'allow')) {
    out.push(warning(['policy'], 'no rule allows anything: every call will be refused'));
  }
  if (c.admin !== undefined && !isLoopback(c.admin.host)) {
    out.push(warning(['admin', 'listen'], `${c.admin.host} is not a loopback address: anyone who can reach it reads the live calls and metrics`));
  }
  raw.inside.networks.forEach((n, i) => {
    if (hasHostBits(n)) out.push(warning(['inside', 'networks', i], `${n} has host bits set (it means ${cidrText(parseCidr(n) as Ipv4Cidr)})`));
  });
  raw.policy.forEach((r, i) => {
    if (hasHostBits(r.remote)) out.push(warning(['policy', i, 'remote'], `${r.remote} has host bits set (it means ${cidrText(parseCidr(r.remote) as Ipv4Cidr)})`));
  });
  return out;
}

function cidrText(c: Ipv4Cidr): string {
  const n = c.network;
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}/${c.prefix}`;
}

/** Linux interface names: IFNAMSIZ 16 minus the NUL, no '/', whitespace or ':' (alias syntax). */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Both interfaces named, valid and distinct (modes whose nftables rules name them). */
function interfaceChecks(c: GatewayConfig, mode: string, why: string): Problem[] {
  const errors: Problem[] = [];
  for (const [sideName, name] of [['inside', c.inside.interface], ['outside', c.outside.interface]] as const) {
    if (name === undefined) errors.push(error([sideName, 'interface'], `required with mode = "${mode}" (${why})`, 'invalid-value'));
    else if (!IFNAME.test(name)) errors.push(error([sideName, 'interface'], `${JSON.stringify(name)} is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`, 'invalid-value'));
  }
  if (c.inside.interface !== undefined && c.inside.interface === c.outside.interface) {
    errors.push(error(['outside', 'interface'], 'must differ from inside.interface'));
  }
  return errors;
}

/** mode = "transparent": the interfaces interception applies to, and the privileges it keeps. */
function transparentChecks(c: TransparentConfig): Problem[] {
  const errors: Problem[] = [];
  errors.push(...interfaceChecks(c, 'transparent', 'the interface talk traffic is intercepted on'));
  const tp = c.transparent.port;
  if (within(c.relay.ports, tp)) errors.push(error(['transparent', 'port'], `${tp} lies in relay.ports`));
  if (tp === c.ports.ntalk || tp === c.ports.otalk) errors.push(error(['transparent', 'port'], `${tp} is a control port`));
  if (tp === c.admin?.port) errors.push(error(['transparent', 'port'], `${tp} is the admin listener port`));
  return errors;
}

/** mode = "pinhole": its nftables rules name both interfaces; its ports avoid the control ports. */
function pinholeChecks(c: PinholeModeConfig): Problem[] {
  const errors: Problem[] = [];
  errors.push(...interfaceChecks(c, 'pinhole', "the holes' rules name it"));
  const p = c.pinhole;
  for (const port of [c.ports.ntalk, c.ports.otalk]) {
    if (within(p.ports, port)) errors.push(error(['pinhole', 'ports'], `overlaps the control port ${port}`));
  }
  if (c.admin !== undefined && within(p.ports, c.admin.port)) {
    errors.push(conflict(['pinhole', 'ports'], `overlaps the admin listener port ${c.admin.port}`, ['admin', 'listen']));
  }
  if (p.ports.min < 1024) errors.push(error(['pinhole', 'ports'], 'must be >= 1024 (ports below are refused, as ftp-proxy does)'));
  return errors;
}

/** Reads and validates a configuration file. */
export function loadGatewayConfigFile(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    return refused(path, [{ severity: 'error', code: 'unreadable', key: '(file)', message: `cannot read: ${(err as Error).message}` }]);
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
