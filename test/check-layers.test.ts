/**
 * scripts/check-layers.js, the folder-layering check of `npm test`, run as `npm test` runs it on small
 * fixture trees written to a temporary directory (removed after each test): an upward import exits
 * non-zero and names the file, line and layers; the layering the script allows passes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { packageRoot } from '../src/config/load-gateway-config.js';

const SCRIPT = join(packageRoot(), 'scripts', 'check-layers.js');

/** Writes `files` (path → text) under a fresh temporary root, removed when the test ends. */
function fixtureTree(t: TestContext, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tg-layers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function check(root: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

const BASE: Record<string, string> = {
  'src/shared/clock.ts': 'export const now = (): number => 0;\n',
  'src/protocol/wire.ts': "import { now } from '../shared/clock.js';\nexport const w = now;\n",
  'src/gateway/session/core.ts': "import { w } from '../../protocol/wire.js';\nimport type { X } from '../policy.js';\nexport const c = w;\n",
  'src/gateway/policy.ts': 'export type X = number;\n',
  'src/cli/main.ts': "export const load = () => import('../gateway/session/core.js');\n",
  'test/lab/lab.ts': "import { load } from '../../src/cli/main.js';\nexport const l = load;\n",
};

test('check-layers passes a tree that imports only its own folder and lower layers', (t) => {
  const r = check(fixtureTree(t, BASE));
  assert.equal(r.status, 0, r.stderr);
});

test('check-layers exits non-zero on an upward import and names file, line and layers', (t) => {
  const root = fixtureTree(t, {
    ...BASE,
    'src/config/config.ts': "// config\nimport { now } from '../shared/clock.js';\nimport { c } from '../gateway/session/core.js';\nexport const k = [now, c];\n",
  });
  const r = check(root);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /src\/config\/config\.ts:3 imports src\/gateway\/session\/core\.ts: config \(layer 4\) may not import gateway \(layer 7\)/);
  assert.doesNotMatch(r.stderr, /clock/);
});

test('check-layers counts type-only, re-export and dynamic imports, in tests too', (t) => {
  for (const line of [
    "import type { X } from '../gateway/policy.js';",
    "export { c } from '../gateway/session/core.js';",
    "const m = await import('../cli/main.js');",
  ]) {
    const r = check(fixtureTree(t, { ...BASE, 'src/native/thing.test.ts': `${line}\n` }));
    assert.equal(r.status, 1, line);
    assert.match(r.stderr, /src\/native\/thing\.test\.ts:1 imports/, line);
  }
});

test('check-layers ignores imports inside comments and refuses sibling programs importing each other', (t) => {
  const commented = check(fixtureTree(t, { ...BASE, 'src/shared/a.ts': "/* import { c } from '../gateway/session/core.js'; */\n// import '../cli/main.js';\nexport {};\n" }));
  assert.equal(commented.status, 0, commented.stderr);
  const sibling = check(fixtureTree(t, { ...BASE, 'src/daemon/d.ts': "import { c } from '../gateway/session/core.js';\nexport const d = c;\n" }));
  assert.equal(sibling.status, 1);
  assert.match(sibling.stderr, /daemon and gateway share layer 7/);
});

test('check-layers refuses src/ importing from outside src/, except test fixtures from a test', (t) => {
  const fixtures = { ...BASE, 'test/fixtures/f.ts': 'export const f = 1;\n' };
  const fromTest = check(fixtureTree(t, { ...fixtures, 'src/protocol/p.test.ts': "import { f } from '../../test/fixtures/f.js';\nexport const g = f;\n" }));
  assert.equal(fromTest.status, 0, fromTest.stderr);
  const fromCode = check(fixtureTree(t, { ...fixtures, 'src/protocol/p.ts': "import { f } from '../../test/fixtures/f.js';\nexport const g = f;\n" }));
  assert.equal(fromCode.status, 1);
  assert.match(fromCode.stderr, /src\/ may not import from outside src\//);
});

test('check-layers passes the repository itself', () => {
  const r = check(packageRoot());
  assert.equal(r.status, 0, r.stderr);
});
