// PLACEHOLDER: owned by the helper building `talkgate gateway`; replaced before this lands.
import { Command } from 'commander';

export function command(): Command {
  return new Command('gateway').action(() => {
    process.stderr.write('talkgate gateway: not built yet\n');
    process.exitCode = 2;
  });
}
