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
  ha: ['one node of an HA pair: keepalived notify hook (conntrackd commit, then serve), status', () => import('./ha-command.js')],
};

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const name = argv[0];
  const entry = name === undefined ? undefined : subcommands[name];
  if (entry === undefined || name === undefined) {
    return topLevel(argv);
  }
  const mod = await entry[1]();
  const cmd = usageConventions(mod.command().name(`talkgate ${name}`));
  try {
    await cmd.parseAsync([...argv.slice(1)], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err: unknown) {
    if (err instanceof CommanderError) return usageExitCode(err);
    throw err;
  }
}

/** Exit status of a command line that cannot be used (bad option, value or command), as getopt(3) programs and POSIX utilities exit 2. */
export const USAGE_EXIT_CODE = 2;

/**
 * The exit status for an error commander raised: 0 for --help and --version, otherwise a usage
 * error (unknown option or command, missing or invalid value, missing subcommand): 2.
 */
export function usageExitCode(err: CommanderError): number {
  return err.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
}

/**
 * Applies the usage conventions to `cmd` and every subcommand below it (commander copies its
 * settings only to subcommands created afterwards): errors are thrown, not process.exit()ed, and
 * error text and usage-error help go to stderr.
 */
export function usageConventions(cmd: Command): Command {
  cmd.exitOverride().configureOutput({
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => write(s),
  });
  for (const sub of cmd.commands) usageConventions(sub);
  return cmd;
}

function topLevel(argv: readonly string[]): number {
  const program = new Command('talkgate')
    .description('BSD talk stack and talk-aware firewall gateway')
    .version(VERSION)
    .usage('<command> [options]');
  for (const [name, [summary]] of Object.entries(subcommands)) {
    program.command(name).description(summary).helpOption(false);
  }
  program.addHelpText('after', '\nRun `talkgate <command> --help` for the options of a command.');
  usageConventions(program);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return USAGE_EXIT_CODE;
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err: unknown) {
    if (err instanceof CommanderError) return usageExitCode(err);
    throw err;
  }
  return USAGE_EXIT_CODE;
}

const VERSION = '0.1.0';
