/**
 * examples/logrotate/talkgate as logrotate(8) runs it: the file parses (`logrotate -d`), and, as
 * root, a forced rotation of a scratch copy (its path moved into a temporary directory, its
 * `systemctl reload` replaced by a marker) renames the audit file, creates the new one for the
 * gateway's unprivileged side (mode 0660, group nogroup) and runs the reload once.
 *
 * Skips (printing why) when logrotate is absent outside CI; under CI=true it must be there. The
 * temporary directory is removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { run } from './lab/proc.js';

const LOGROTATE = '/usr/sbin/logrotate';
const EXAMPLE = 'examples/logrotate/talkgate';
/** The unit's group for the unprivileged side (talkgate-gateway@.service Group=). */
const GROUP = 'nogroup';

function skipReason(): string | false {
  try {
    accessSync(LOGROTATE, constants.X_OK);
  } catch {
    return process.env['CI'] === 'true' ? false : `${LOGROTATE} missing (Debian package logrotate)`;
  }
  return false;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

test('the logrotate example parses', { skip: skipReason(), timeout: 15_000 }, async (t) => {
  const dir = mkdtempSync('/tmp/tg-logrotate-test-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await run([LOGROTATE, '-d', '--state', join(dir, 'state'), join(repoRoot(), EXAMPLE)], { check: false });
  assert.equal(r.code, 0, `logrotate -d ${EXAMPLE}:\n${r.stderr}`);
  assert.doesNotMatch(`${r.stdout}${r.stderr}`, /error:/i);
});

test('a forced rotation renames the audit log, creates the new one 0660 root:nogroup and reloads once', { skip: skipReason() || (asRoot ? false : 'needs root (logrotate create chowns the new file)'), timeout: 15_000 }, async (t) => {
  const dir = mkdtempSync('/tmp/tg-logrotate-test-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, 'reloaded');
  const conf = readFileSync(join(repoRoot(), EXAMPLE), 'utf8')
    .replaceAll('/var/log/talkgate/', `${dir}/`)
    .replace(/^(\s+)systemctl reload .*$/m, `$1echo reload >> ${marker}`);
  assert.ok(conf.includes(`${dir}/*.jsonl`) && conf.includes(marker), 'the scratch copy points into the temporary directory');
  const confPath = join(dir, 'talkgate.logrotate');
  writeFileSync(confPath, conf, { mode: 0o644 });
  writeFileSync(join(dir, 'gateway.jsonl'), '{"event":"requested","callId":"c-000001"}\n');
  writeFileSync(join(dir, 'other.jsonl'), '{"event":"requested","callId":"c-000001"}\n');

  const r = await run([LOGROTATE, '-f', '--state', join(dir, 'state'), confPath], { check: false });
  assert.equal(r.code, 0, `logrotate -f:\n${r.stderr}`);
  assert.match(readFileSync(join(dir, 'gateway.jsonl.1'), 'utf8'), /c-000001/, 'the old records are in the rotated file, uncompressed (delaycompress)');
  const fresh = statSync(join(dir, 'gateway.jsonl'));
  assert.equal(fresh.size, 0, 'a new, empty audit file');
  assert.equal(fresh.mode & 0o777, 0o660);
  const gid = Number((await run(['getent', 'group', GROUP])).stdout.split(':')[2]);
  assert.equal(fresh.gid, gid, `the new file is group ${GROUP}`);
  assert.ok(existsSync(marker), 'postrotate ran');
  assert.equal(readFileSync(marker, 'utf8'), 'reload\n', 'sharedscripts: one reload for all the files');
});
