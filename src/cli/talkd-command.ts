// PLACEHOLDER: owned by the helper building `talkgate talkd`; replaced before this lands.
import { Command } from 'commander';

export function command(): Command {
  return new Command('talkd').action(() => {
    process.stderr.write('talkgate talkd: not built yet\n');
    process.exitCode = 2;
  });
}
