/**
 * The `talkgate` command line: one program, one subcommand per tool. Each subcommand lives in
 * its own module under src/cli/ and is loaded only when invoked, so `talkgate talk` does not pay
 * for the gateway's dependencies.
 */
import { Command, CommanderError } from 'commander';

interface SubcommandModule {
  /** Builds the subcommand; its action resolves when the tool is done. */
  command(): Command;
}

/** name → [summary, loader]. Summaries are shown by `talkgate --help` without loading modules. */
const subcommands: Record<string, [string, () => Promise<SubcommandModule>]> = {
  talkd: ['talk daemon (ntalk udp/518, otalk udp/517), standalone, inetd or systemd', () => import('./talkd-command.js')],
  talk: ['split-screen talk client', () => import('./talk-command.js')],
  gateway: ['talk gateway for a firewall (classical, transparent or pinhole mode)', () => import('./gateway-command.js')],
  status: ['list the live calls of a running gateway', () => import('./status-command.js')],
  middlebox: ['PCP (RFC 6887) / NAT-PMP server that programs nftables', () => import('./middlebox-command.js')],
  pcp: ['PCP client: map, peer, delete, announce', () => import('./pcp-command.js')],
};

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const name = argv[0];
  const entry = name === undefined ? undefined : subcommands[name];
  if (entry === undefined || name === undefined) {
    return topLevel(argv);
  }
  const mod = await entry[1]();
  const cmd = mod.command().name(`talkgate ${name}`).exitOverride();
  try {
    await cmd.parseAsync([...argv.slice(1)], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err: unknown) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}

function topLevel(argv: readonly string[]): number {
  const program = new Command('talkgate')
    .description('BSD talk stack and talk-aware firewall gateway')
    .version(VERSION)
    .exitOverride()
    .usage('<command> [options]');
  for (const [name, [summary]] of Object.entries(subcommands)) {
    program.command(name).description(summary).helpOption(false);
  }
  program.addHelpText('after', '\nRun `talkgate <command> --help` for the options of a command.');
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err: unknown) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return 2;
}

const VERSION = '0.1.0';
