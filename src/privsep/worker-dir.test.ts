import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeWorkerDir } from './worker-dir.js';

test('makeWorkerDir() makes an empty read-only directory and removes those a dead process left', () => {
  // A leftover of a process that cannot exist (pid beyond the kernel's pid_max of 2^22).
  const stale = join(tmpdir(), `tg-wdtest-${4_194_305}-AbC123`);
  mkdirSync(stale, { recursive: true });
  const d = makeWorkerDir('tg-wdtest');
  try {
    assert.equal(existsSync(stale), false, 'the dead process’s directory is gone');
    assert.equal(statSync(d.path).mode & 0o777, 0o555);
    assert.match(d.path, new RegExp(`tg-wdtest-${process.pid}-`));
  } finally {
    d.remove();
  }
  assert.equal(existsSync(d.path), false);
});
