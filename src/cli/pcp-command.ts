// PLACEHOLDER: owned by the helper building `talkgate pcp`; replaced before this lands.
import { Command } from 'commander';

export function command(): Command {
  return new Command('pcp').action(() => {
    process.stderr.write('talkgate pcp: not built yet\n');
    process.exitCode = 2;
  });
}
