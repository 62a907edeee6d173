/**
 * The command line's conventions, as a user meets them: usage errors exit 2 with the message on
 * stderr and nothing on stdout; --help and --version exit 0 on stdout. Runs the built bin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'bin', 'talkgate.js')); i++) dir = dirname(dir);
  return dir;
}
const BIN = join(repoRoot(), 'bin', 'talkgate.js');

function talkgate(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const USAGE_ERRORS: readonly (readonly string[])[] = [
  [],
  ['nonsense'],
  ['--bogus'],
  ['gateway', '--log-level', 'verbose'],
  ['gateway', '--log-format', 'xml'],
  ['gateway', '--bogus'],
  ['gateway', '--config'],
  ['talkd', '--log-level', 'loud'],
  ['talkd', '--port', '70000'],
  ['talkd', '--bind', '1.2.3'],
  ['talkd', '--no-ntalk', '--no-otalk'],
  ['talkd', '--port', '6000', '--otalk-port', '6000'],
  ['pcp'],
  ['pcp', 'map', '--bogus'],
];

test('usage errors exit 2 with the message on stderr and nothing on stdout', () => {
  for (const args of USAGE_ERRORS) {
    const r = talkgate(...args);
    assert.equal(r.code, 2, `talkgate ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.equal(r.stdout, '', `talkgate ${args.join(' ')} printed to stdout`);
    assert.ok(r.stderr.length > 0, `talkgate ${args.join(' ')}: no message`);
    assert.ok(!/\n\s+at /.test(r.stderr), `talkgate ${args.join(' ')}: stack trace\n${r.stderr}`);
  }
});

test('an enumerated option lists its allowed values', () => {
  assert.match(talkgate('gateway', '--log-level', 'verbose').stderr, /Allowed choices are fatal, error, warn, info, debug, trace, silent/);
  assert.match(talkgate('talkd', '--log-format', 'xml').stderr, /Allowed choices are json, syslog/);
});

test('--help and --version exit 0 on stdout', () => {
  for (const args of [['--help'], ['--version'], ['gateway', '--help'], ['talkd', '--help']]) {
    const r = talkgate(...args);
    assert.equal(r.code, 0, args.join(' '));
    assert.ok(r.stdout.length > 0);
  }
  assert.match(talkgate('gateway', '--help').stdout, /--check/);
  assert.match(talkgate('talkd', '--help').stdout, /--check/);
});

test('gateway --check exits 0 on a valid file and 1 on an invalid one, echoing no control character', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const ok = talkgate('gateway', '--check');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /examples\/gateway-default\.toml: configuration is valid \(mode classical\)/);
  const dir = mkdtempSync(join(tmpdir(), 'tg-main-'));
  try {
    const conf = join(dir, 'gw.toml');
    writeFileSync(conf, '[inside]\naddress = "127.0.0.1"\nnetworks = ["127.0.0.0/8"]\n[outside]\naddress = "127.0.0.2"\nhosts = { "a\\u001b[2Jb" = "127.0.0.3" }\n');
    const bad = talkgate('gateway', '--config', conf, '--check');
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /gw\.toml:6: outside\.hosts\.a\^\[\[2Jb: /);
    assert.ok(!/[\x00-\x09\x0b-\x1f\x7f]/.test(bad.stderr), JSON.stringify(bad.stderr));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
