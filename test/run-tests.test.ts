/**
 * scripts/run-tests.js closes with a summary naming every skipped test (file, name, reason), after
 * node's own closing lines, which it leaves as node prints them (issue 13).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';

const UNIT = `const { test, describe } = require('node:test');
test('runs', () => {});
test('needs a tool', { skip: '/usr/bin/frobnicate missing' }, () => {});
describe('a suite', () => { test('nested and skipped', { skip: 'needs root (nftables in a fresh network namespace)' }, () => {}); });
test('skipped without a reason', { skip: true }, () => {});
`;
const LAB = `const { describe, test } = require('node:test');
describe('lab suite', { skip: 'lab needs root (network namespaces)' }, () => { test('never runs', () => {}); });
`;

function runner(files: Record<string, string>): { status: number | null; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tg-runner-'));
  try {
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    // Without NODE_TEST_CONTEXT: the runner's node --test must not think it is a child of ours.
    const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
    const r = spawnSync(process.execPath, [join(repoRoot(), 'scripts', 'run-tests.js')], {
      env: { ...env, TALKGATE_TEST_DIST: join(dir, 'dist'), CI: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('run-tests.js names each skipped test with its file and reason after node\'s own closing lines', () => {
  const { status, stdout } = runner({ 'dist/src/x/a.test.js': UNIT, 'dist/test/lab/b.test.js': LAB });
  assert.equal(status, 0, stdout);
  const lines = stdout.trimEnd().split('\n');
  const summary = lines.indexOf('# skipped tests (4), each with what it is missing:');
  assert.ok(summary > 0, stdout);
  // node's closing lines are there, unchanged, before the summary (once per phase: unit, lab);
  // node counts a skipped suite in neither "# skipped" nor "# pass", the summary names it.
  assert.deepEqual(lines.filter((l) => /^# (pass|fail|skipped) \d+$/.test(l)), ['# pass 1', '# fail 0', '# skipped 3', '# pass 0', '# fail 0', '# skipped 0']);
  assert.ok(lines.findLastIndex((l) => l.startsWith('# duration_ms')) < summary);
  assert.deepEqual(lines.slice(summary + 1).map((l) => l.replace(/^# {3}.*?dist\//, '#   dist/')).sort(), [
    '#   dist/src/x/a.test.js: a suite › nested and skipped: needs root (nftables in a fresh network namespace)',
    '#   dist/src/x/a.test.js: needs a tool: /usr/bin/frobnicate missing',
    '#   dist/src/x/a.test.js: skipped without a reason: (no reason given)',
    '#   dist/test/lab/b.test.js: lab suite: lab needs root (network namespaces)',
  ]);
});

test('run-tests.js still prints the skip summary and exits 1 when a test fails', () => {
  const { status, stdout } = runner({ 'dist/src/c.test.js': `${UNIT}test('fails', () => { throw new Error('boom'); });\n` });
  assert.equal(status, 1);
  assert.match(stdout, /^# fail 1$/m);
  assert.match(stdout, /^# skipped tests \(3\), each with what it is missing:$/m);
});
