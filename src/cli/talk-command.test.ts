import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommanderError } from 'commander';
import { NTALK_PORT, OTALK_PORT } from '../protocol/constants.js';
import { parseTalkTarget } from '../client/talk-target.js';
import { command } from './talk-command.js';

/** Parses `talkgate talk ARGS` with the real command, its action replaced (nothing runs). */
async function parse(args: readonly string[]): Promise<{ user: string; tty: string | undefined; opts: Record<string, unknown> }> {
  let got: { user: string; tty: string | undefined; opts: Record<string, unknown> } | undefined;
  await command()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .action((user: string, tty: string | undefined, opts: Record<string, unknown>) => {
      got = { user, tty, opts };
    })
    .parseAsync([...args], { from: 'user' });
  assert.ok(got !== undefined);
  return got;
}

test('talkgate talk USER[@HOST] [TTY]: every classic form reaches the target parser intact', async () => {
  const cases: Array<[string, { user: string; host: string | undefined }]> = [
    ['bob', { user: 'bob', host: undefined }],
    ['bob@10.1.0.2', { user: 'bob', host: '10.1.0.2' }],
    ['out!bob', { user: 'bob', host: 'out' }],
    ['out:bob', { user: 'bob', host: 'out' }],
    ['out.bob', { user: 'bob', host: 'out' }],
  ];
  for (const [arg, want] of cases) {
    const p = await parse([arg]);
    assert.equal(p.tty, undefined);
    assert.deepEqual(parseTalkTarget(p.user), want, arg);
  }
  const withTty = await parse(['bob@10.1.0.2', 'pts/3']);
  assert.equal(withTty.tty, 'pts/3');
});

test('talkgate talk defaults to ports 518/517 and takes --port, --otalk-port (0 = never otalk), --local-port', async () => {
  const d = await parse(['bob']);
  assert.deepEqual([d.opts['port'], d.opts['otalkPort'], d.opts['localPort']], [NTALK_PORT, OTALK_PORT, undefined]);
  const o = await parse(['bob@h', '--port', '5518', '--otalk-port', '0', '--local-port', '6518']);
  assert.deepEqual([o.opts['port'], o.opts['otalkPort'], o.opts['localPort']], [5518, 0, 6518]);
  await assert.rejects(parse(['bob', '--port', '0']), CommanderError);
  await assert.rejects(parse(['bob', '--port', '65536']), CommanderError);
  await assert.rejects(parse([]), CommanderError, 'a user is required');
  await assert.rejects(parse(['bob', 'pts/1', 'extra']), CommanderError);
});

test('talkgate talk keeps the conversation on the terminal by default; --no-keep turns it off', async () => {
  assert.equal((await parse(['bob'])).opts['keep'], true);
  assert.equal((await parse(['bob', '--no-keep'])).opts['keep'], false);
});
