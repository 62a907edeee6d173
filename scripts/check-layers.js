#!/usr/bin/env node
// Folder layering check: no folder under src/ imports a folder above it (docs/architecture.md).
// Layers, lowest first; a file may import its own folder and lower layers only, tests included:
//   shared, protocol → observability → native → firewall → config → pcp → daemon, client, gateway → cli
// Folders that share a layer are independent of one another (daemon, client and gateway are three
// programs), except the foundation layer, whose two folders may import each other (protocol's
// DecodeError extends shared's TalkError). bench/ and test/ may import anything from src/; a test file
// in src/ may also import shared test fixtures from test/fixtures/; nothing else in src/ may import from
// outside src/. Every static import/export ... from, side-effect import and literal dynamic import()
// counts, `import type` included (a type import is a dependency of the design, if not of the bundle).
//
// Usage: node scripts/check-layers.js [--root DIR]   (exit 0: clean; 1: violations, listed on stderr)
// No dependencies: a small scanner over the source text, not a TypeScript parser.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Layers, lowest first. */
export const LAYERS = [
  ['shared', 'protocol'],
  ['observability'],
  ['native'],
  ['firewall'],
  ['config'],
  ['privsep'],
  ['pcp'],
  ['daemon', 'client', 'gateway'],
  ['cli'],
];

/** Layers whose folders may import one another. */
const MUTUAL_LAYERS = new Set([0]);

/**
 * Known upward imports, each "importer -> imported" (paths from the repository root): none since the
 * mode-seam change (issue 12) moved ipv4-cidr to shared/, the pinhole defaults to config/ and the PCP
 * data path to gateway/. An entry here that no longer occurs is reported as a note.
 */
export const ALLOWED = new Set([]);

const layerOf = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i])));

/** All .ts files under `dir` (recursively), skipping node_modules and dist. */
function sourceFiles(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Blanks block comments and `//` line comments, keeping line numbers; string contents are kept. */
function stripComments(text) {
  let out = '';
  let i = 0;
  let quote = '';
  while (i < text.length) {
    const c = text[i];
    const n = text[i + 1];
    if (quote !== '') {
      out += c;
      if (c === '\\') {
        out += n ?? '';
        i += 2;
        continue;
      }
      if (c === quote || (c === '\n' && quote !== '`')) quote = '';
      i += 1;
    } else if (c === '/' && n === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '/' && n === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else {
      if (c === "'" || c === '"' || c === '`') quote = c;
      out += c;
      i += 1;
    }
  }
  return out;
}

const IMPORT_RE = /\b(?:from|import)\s*\(?\s*(['"])([^'"\n]+)\1/g;

/** The relative module specifiers of one source text, with their 1-based line numbers. */
export function importsOf(text) {
  const code = stripComments(text);
  const found = [];
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[2];
    if (!spec.startsWith('.')) continue;
    const line = code.slice(0, m.index).split('\n').length;
    found.push({ spec, line });
  }
  return found;
}

function toPosix(p) {
  return p.split(sep).join('/');
}

/** Maps a `.js` specifier (NodeNext style) to the `.ts` source it names. */
function sourcePath(spec) {
  return spec.replace(/\.js$/, '.ts');
}

/**
 * Checks the tree under `root` and returns { violations: string[], stale: string[] }.
 * @param {string} root repository root (holds src/)
 */
export function checkLayers(root) {
  const violations = [];
  const used = new Set();
  const srcDir = join(root, 'src');
  for (const file of sourceFiles(srcDir)) {
    const from = toPosix(relative(root, file));
    const fromFolder = from.split('/')[1];
    const fromLayer = layerOf.get(fromFolder ?? '');
    const isTest = from.endsWith('.test.ts');
    for (const { spec, line } of importsOf(readFileSync(file, 'utf8'))) {
      const to = toPosix(relative(root, resolve(dirname(file), sourcePath(spec))));
      const where = `${from}:${line} imports ${to}`;
      const key = `${from} -> ${to}`;
      if (ALLOWED.has(key)) {
        used.add(key);
        continue;
      }
      if (!to.startsWith('src/')) {
        if (isTest && to.startsWith('test/fixtures/')) continue;
        violations.push(`${where}: src/ may not import from outside src/`);
        continue;
      }
      const toFolder = to.split('/')[1] ?? '';
      if (toFolder === fromFolder) continue;
      const toLayer = layerOf.get(toFolder);
      if (fromLayer === undefined) {
        violations.push(`${where}: src/${fromFolder}/ is not in any layer (add it to LAYERS in scripts/check-layers.js)`);
      } else if (toLayer === undefined) {
        violations.push(`${where}: src/${toFolder}/ is not in any layer (add it to LAYERS in scripts/check-layers.js)`);
      } else if (toLayer > fromLayer) {
        violations.push(`${where}: ${fromFolder} (layer ${fromLayer}) may not import ${toFolder} (layer ${toLayer}), a higher layer`);
      } else if (toLayer === fromLayer && !MUTUAL_LAYERS.has(fromLayer)) {
        violations.push(`${where}: ${fromFolder} and ${toFolder} share layer ${fromLayer} and may not import each other`);
      }
    }
  }
  const stale = [...ALLOWED].filter((k) => !used.has(k));
  return { violations, stale };
}

function main(argv) {
  const i = argv.indexOf('--root');
  const root = i >= 0 && argv[i + 1] !== undefined ? resolve(argv[i + 1]) : join(dirname(fileURLToPath(import.meta.url)), '..');
  const { violations, stale } = checkLayers(root);
  for (const k of stale) process.stderr.write(`check-layers: note: allowlisted import no longer occurs, delete it: ${k}\n`);
  for (const v of violations) process.stderr.write(`check-layers: ${v}\n`);
  if (violations.length > 0) {
    process.stderr.write(`check-layers: ${violations.length} upward import(s); layers, lowest first: ${LAYERS.map((l) => l.join(', ')).join(' → ')}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
