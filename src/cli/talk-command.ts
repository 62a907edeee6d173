/**
 * `talkgate talk USER[@HOST] [TTY]`: the split-screen talk client (see src/client/).
 */
import { Command, InvalidArgumentError } from 'commander';
import { NTALK_PORT, OTALK_PORT } from '../protocol/constants.js';

function port(allowZero: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) throw new InvalidArgumentError('not a port number');
    return n;
  };
}

export function command(): Command {
  return new Command('talk')
    .description('talk to another user (classic BSD talk, split screen); forms: user, user@host, host!user, host:user, host.user')
    .argument('<user>', 'who to talk to')
    .argument('[tty]', "the callee's terminal (e.g. pts/3); default any")
    .option('--port <n>', 'ntalk port of the talk daemons', port(false), NTALK_PORT)
    .option('--otalk-port <n>', "otalk port of the callee's daemon (0 = never try otalk)", port(true), OTALK_PORT)
    .option('--local-port <n>', 'ntalk port of our own daemon (default: --port)', port(false))
    .option('--as <name>', 'the name to call as (default: your login name; e.g. for the one-machine gateway demo)')
    .option('--no-keep', 'do not leave the last screenful of the conversation on the terminal after the call')
    .action(async (user: string, tty: string | undefined, o: { port: number; otalkPort: number; localPort?: number; as?: string; keep: boolean }) => {
      const { runTalk } = await import('../client/talk-session.js');
      process.exitCode = await runTalk(
        {
          target: user,
          tty: tty ?? '',
          port: o.port,
          otalkPort: o.otalkPort === 0 ? null : o.otalkPort,
          localPort: o.localPort ?? o.port,
          keep: o.keep,
          ...(o.as !== undefined ? { user: o.as } : {}),
        },
        process.stdin,
        process.stdout,
      );
    });
}
