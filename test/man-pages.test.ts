/**
 * The man pages in man/ (issue 13): each renders with `man -l` and passes `mandoc -T lint` and
 * `groff -ww -z` without a single warning, and together they name every subcommand and every
 * option `talkgate <command> --help` lists, so a new option cannot ship undocumented.
 *
 * Skips (printing why) when mandoc or man is absent outside CI; under CI=true they must be there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lab/peers.js';
import { run } from './lab/proc.js';

const MANDOC = '/usr/bin/mandoc';
const MAN = '/usr/bin/man';
const GROFF = '/usr/bin/groff';
const PAGES = ['talkgate.8', 'talkgate-talk.1', 'talkgate.toml.5'];
/** Subcommands, and the page that documents their options. */
const COMMANDS: Readonly<Record<string, string>> = {
  talkd: 'talkgate.8',
  talk: 'talkgate-talk.1',
  gateway: 'talkgate.8',
  status: 'talkgate.8',
  middlebox: 'talkgate.8',
  'pcp map': 'talkgate.8',
  'pcp peer': 'talkgate.8',
  'pcp delete': 'talkgate.8',
  'pcp announce': 'talkgate.8',
  'ha notify': 'talkgate.8',
  'ha status': 'talkgate.8',
};

function skipReason(): string | false {
  for (const p of [MANDOC, MAN, GROFF]) {
    try {
      accessSync(p, constants.X_OK);
    } catch {
      return process.env['CI'] === 'true' ? false : `${p} missing (Debian packages mandoc, man-db, groff-base)`;
    }
  }
  return false;
}

const manDir = (): string => join(repoRoot(), 'man');

test('man/ holds exactly the three pages', () => {
  assert.deepEqual(readdirSync(manDir()).sort(), [...PAGES].sort());
});

test('every man page passes mandoc -T lint and groff -ww without a warning and renders with man -l', { skip: skipReason(), timeout: 30_000 }, async () => {
  for (const page of PAGES) {
    const path = join(manDir(), page);
    const lint = await run([MANDOC, '-T', 'lint', '-W', 'warning', path], { check: false });
    assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '', `mandoc -T lint ${page}`);
    assert.equal(lint.code, 0, `mandoc -T lint ${page} exit code`);
    const groff = await run([GROFF, '-ww', '-z', '-mdoc', path], { check: false });
    assert.equal(`${groff.stdout}${groff.stderr}`.trim(), '', `groff -ww -z ${page}`);
    const man = await run([MAN, '-l', '-P', 'cat', path], { check: false, env: { ...process.env, MANWIDTH: '80', LANG: 'C.UTF-8' } });
    assert.equal(man.code, 0, `man -l ${page}: ${man.stderr}`);
    assert.equal(man.stderr.trim(), '', `man -l ${page} prints no warning`);
    assert.match(man.stdout, /NAME\s+talkgate/, `man -l ${page} renders its NAME section`);
  }
  process.stdout.write(`# ${PAGES.join(', ')}: mandoc -T lint, groff -ww and man -l clean\n`);
});

test('the man pages document every subcommand and every option its --help lists', async () => {
  const bin = join(repoRoot(), 'bin', 'talkgate.js');
  // In the roff source a "-" in an option name is written "\-".
  const source = (page: string): string => readFileSync(join(manDir(), page), 'utf8').replace(/\\-/g, '-');
  const missing: string[] = [];
  for (const [command, page] of Object.entries(COMMANDS)) {
    const help = (await run([process.execPath, bin, ...command.split(' '), '--help'], { check: false })).stdout;
    const options = [...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1] ?? '').filter((o) => o !== '--help');
    assert.ok(options.length > 0 || command === 'pcp announce', `talkgate ${command} --help lists options:\n${help}`);
    const text = source(page);
    const sub = command.split(' ').at(-1) ?? command;
    if (!new RegExp(`\\b${sub}\\b`).test(text)) missing.push(`${page}: the subcommand ${command}`);
    for (const o of options) if (!text.includes(`Fl ${o.slice(1)}`)) missing.push(`${page}: talkgate ${command} ${o}`);
  }
  assert.deepEqual(missing, [], 'undocumented subcommands or options');
});
