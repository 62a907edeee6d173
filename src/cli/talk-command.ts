// PLACEHOLDER: owned by the helper building `talkgate talk`; replaced before this lands.
import { Command } from 'commander';

export function command(): Command {
  return new Command('talk').action(() => {
    process.stderr.write('talkgate talk: not built yet\n');
    process.exitCode = 2;
  });
}
