#!/usr/bin/env node
// Runs the compiled test suite (dist/) with node:test: unit and property tests in parallel,
// then the network-namespace lab tests one at a time (they share host names and ports).
// Lab tests skip with a printed reason outside CI when root or namespaces are unavailable;
// under CI=true a missing prerequisite fails them.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const all = find(dist).filter((f) => only.length === 0 || only.some((o) => relative(dist, f).includes(o)));
const lab = all.filter((f) => f.includes(`${join('dist', 'test', 'lab')}`));
const unit = all.filter((f) => !lab.includes(f));

let failed = false;
for (const [files, extra] of [[unit, []], [lab, ['--test-concurrency=1']]]) {
  if (files.length === 0) continue;
  const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', ...extra, ...files], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
