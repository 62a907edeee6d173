// PLACEHOLDER: owned by the helper building `talkgate middlebox`; replaced before this lands.
import { Command } from 'commander';

export function command(): Command {
  return new Command('middlebox').action(() => {
    process.stderr.write('talkgate middlebox: not built yet\n');
    process.exitCode = 2;
  });
}
