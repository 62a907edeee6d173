#!/usr/bin/env node
// Runs the compiled test suite (dist/) with node:test: unit and property tests in parallel,
// then the network-namespace lab tests one at a time (they share host names and ports).
// Lab tests skip with a printed reason outside CI when root or namespaces are unavailable;
// under CI=true a missing prerequisite fails them.
// node's own reporter prints as usual (its closing "# tests/# pass/# fail/# skipped" lines are
// untouched); a second reporter (scripts/skip-reporter.js) collects every skipped test over fd 3,
// and the run closes with a summary naming each one (source file, test name) and why it skipped.
// TALKGATE_TEST_DIST overrides the directory searched for *.test.js (the runner's own test).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = process.env.TALKGATE_TEST_DIST ?? join(root, 'dist');
const SKIP_FD = 3;
/** Collected skip lines are small; a generous bound so spawnSync never kills the run for it. */
const MAX_CHILD_OUTPUT = 64 * 1024 * 1024;

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** The reporter node itself would pick: spec on a terminal (always from Node 23 on), else tap. */
function defaultReporter() {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 23 || process.stdout.isTTY ? 'spec' : 'tap';
}

/** dist/src/a/b.test.js -> src/a/b.test.ts when that source exists; else the path as given. */
function sourceOf(file) {
  const rel = relative(root, file);
  const m = /^dist\/(.*)\.js$/.exec(rel);
  if (m !== null && existsSync(join(root, `${m[1]}.ts`))) return `${m[1]}.ts`;
  return rel.startsWith('..') ? file : rel;
}

const only = process.argv.slice(2);
const all = find(dist).filter((f) => only.length === 0 || only.some((o) => relative(dist, f).includes(o)));
const lab = all.filter((f) => f.includes(`${join('dist', 'test', 'lab')}`));
const unit = all.filter((f) => !lab.includes(f));
const reporters = [
  `--test-reporter=${defaultReporter()}`, '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts', 'skip-reporter.js')}`, '--test-reporter-destination=stdout',
];

let failed = false;
const skipped = [];
for (const [files, extra] of [[unit, []], [lab, ['--test-concurrency=1']]]) {
  if (files.length === 0) continue;
  const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', ...reporters, ...extra, ...files], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, TALKGATE_SKIP_FD: String(SKIP_FD) },
    maxBuffer: MAX_CHILD_OUTPUT,
  });
  if (r.status !== 0) failed = true;
  for (const line of String(r.output?.[SKIP_FD] ?? '').split('\n')) {
    if (line === '') continue;
    try {
      skipped.push(JSON.parse(line));
    } catch {
      // a torn line cannot happen with one writeSync per line; ignore rather than crash the summary
    }
  }
}
if (skipped.length > 0) {
  const out = [`# skipped tests (${skipped.length}), each with what it is missing:`];
  for (const s of skipped) out.push(`#   ${sourceOf(s.file)}: ${s.name}: ${s.reason ?? '(no reason given)'}`);
  process.stdout.write(`${out.join('\n')}\n`);
} else if (all.length > 0) {
  process.stdout.write('# skipped tests: none\n');
}
process.exit(failed ? 1 : 0);
