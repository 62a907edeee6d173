/**
 * The configuration reference keeps up with the schemas: every key the gateway and middlebox
 * schemas accept (walked from the zod definitions, so a new key cannot be missed) is named in
 * docs/configuration.md and in talkgate.toml(5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { gatewayConfigSchema } from '../src/config/gateway-config.js';
import { MiddleboxFileSchema } from '../src/pcp/middlebox-config.js';

/** The parts of a zod 4 schema definition the walk needs. */
interface Def {
  readonly type: string;
  readonly shape?: Readonly<Record<string, { readonly _zod: { readonly def: Def } }>>;
  readonly innerType?: { readonly _zod: { readonly def: Def } };
  readonly element?: { readonly _zod: { readonly def: Def } };
  readonly in?: { readonly _zod: { readonly def: Def } };
  readonly out?: { readonly _zod: { readonly def: Def } };
  /** A union's variants (the gateway schema is a discriminated union on `mode`). */
  readonly options?: readonly { readonly _zod: { readonly def: Def } }[];
}
interface Key {
  /** Dotted path, e.g. `pinhole.hole_timeout` (array elements add no segment). */
  readonly path: string;
  /** A leaf: a value, not a table. */
  readonly leaf: boolean;
  /** A free-form table (`[directory]`, `hosts`). */
  readonly record: boolean;
}

/** Every key under a schema: objects recurse; defaults, optionals, arrays and pipes unwrap. */
function schemaKeys(def: Def, prefix = '', out: Key[] = []): Key[] {
  const unwrap = def.innerType ?? def.element ?? def.in;
  if (def.type === 'union') {
    for (const o of def.options ?? []) schemaKeys(o._zod.def, prefix, out);
  } else if (def.type === 'pipe' && def.out !== undefined && def.in?._zod.def.type === 'transform') {
    // z.preprocess(): the keys are those of the schema the transform feeds.
    schemaKeys(def.out._zod.def, prefix, out);
  } else if (def.type === 'object') {
    for (const [name, child] of Object.entries(def.shape ?? {})) {
      const path = `${prefix}${name}`;
      if (out.some((k) => k.path === path)) {
        schemaKeys(child._zod.def, `${path}.`, []);
        continue;
      }
      const inner = innermost(child._zod.def);
      out.push({ path, leaf: inner.type !== 'object', record: inner.type === 'record' });
      schemaKeys(child._zod.def, `${path}.`, out);
    }
  } else if (unwrap !== undefined && ['default', 'prefault', 'optional', 'nullable', 'readonly', 'array', 'pipe'].includes(def.type)) {
    schemaKeys(unwrap._zod.def, prefix, out);
  }
  return out;
}

function innermost(def: Def): Def {
  const unwrap = def.innerType ?? def.element ?? def.in;
  return unwrap !== undefined && ['default', 'prefault', 'optional', 'nullable', 'readonly', 'array', 'pipe'].includes(def.type) ? innermost(unwrap._zod.def) : def;
}

const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;
const read = (path: string): string => readFileSync(join(repoRoot(), path), 'utf8');
const last = (path: string): string => path.split('.').at(-1) ?? path;

/** Words inside `code spans` of a Markdown text. */
function codeWords(md: string): Set<string> {
  return new Set([...md.matchAll(/`([^`\n]+)`/g)].flatMap((m) => (m[1] ?? '').split(/[^A-Za-z0-9_]+/)).filter((w) => w !== ''));
}

/** Names marked up as `Cm` in an mdoc page (`.It Cm a , Cm b`, `No = { Cm ntalk ...`). */
function cmNames(roff: string): Set<string> {
  return new Set([...roff.matchAll(/\bCm ([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? ''));
}

const gatewayKeys = schemaKeys(defOf(gatewayConfigSchema));
const middleboxKeys = schemaKeys(defOf(MiddleboxFileSchema));

test('the schema walk finds the keys (a sanity check of the walk itself)', () => {
  const paths = gatewayKeys.map((k) => k.path);
  for (const p of ['mode', 'inside.daemon_ports.ntalk', 'relay.idle_timeout', 'policy.remote', 'pinhole.hole_timeout', 'middlebox.pcp']) assert.ok(paths.includes(p), p);
  assert.ok(middleboxKeys.some((k) => k.path === 'pcp.port_range'));
  assert.ok(gatewayKeys.length > 50, `${gatewayKeys.length} gateway keys`);
});

test('docs/configuration.md names every key of the gateway and middlebox schemas', () => {
  const words = codeWords(read('docs/configuration.md'));
  const missing = [...gatewayKeys, ...middleboxKeys].flatMap((k) => k.path.split('.')).filter((w) => !words.has(w));
  assert.deepEqual([...new Set(missing)], [], 'keys not in a `code span` of docs/configuration.md');
  // The middlebox table names each key with its section.
  const md = read('docs/configuration.md');
  const undocumented = middleboxKeys.filter((k) => k.leaf).map((k) => k.path).filter((p) => !md.includes(`\`${p}\``));
  assert.deepEqual(undocumented, [], 'middlebox keys not listed as `section.key`');
});

test('talkgate.toml(5) names every key of the gateway and middlebox schemas', () => {
  const roff = read('man/talkgate.toml.5');
  const names = cmNames(roff);
  const missing = [...gatewayKeys, ...middleboxKeys]
    .filter((k) => k.leaf)
    .filter((k) => (k.record && !k.path.includes('.') ? !roff.includes(`[${k.path}]`) : !names.has(last(k.path))))
    .map((k) => k.path);
  assert.deepEqual(missing, [], 'keys not marked up with Cm in man/talkgate.toml.5');
});
