// PLACEHOLDER: owned by the helper building `talkgate status`; replaced before this lands.
import { Command } from 'commander';

export function command(): Command {
  return new Command('status').action(() => {
    process.stderr.write('talkgate status: not built yet\n');
    process.exitCode = 2;
  });
}
