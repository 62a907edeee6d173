// Rebuilds dist/ from scratch: removes it first so a test or module that was moved or deleted in
// src/ can never linger as a stale compiled file that run-tests.js would still pick up. The folder
// layering check (check-layers.js) runs first: an upward import fails the build.
import { rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { checkLayers } from './check-layers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const layers = checkLayers(root);
for (const k of layers.stale) process.stderr.write(`check-layers: note: allowlisted import no longer occurs, delete it: ${k}\n`);
if (layers.violations.length > 0) {
  for (const v of layers.violations) process.stderr.write(`check-layers: ${v}\n`);
  process.stderr.write('build: refused, upward import(s) between src/ folders (see scripts/check-layers.js)\n');
  process.exit(1);
}
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
