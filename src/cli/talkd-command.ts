/** `talkgate talkd`: the talk daemon (ntalk udp/518, otalk udp/517), standalone, inetd or systemd. */
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { NTALK_PORT, OTALK_PORT, MAX_IDLE_MS } from '../protocol/constants.js';
import { createLogger, logFileStream, type LogFormat } from '../observability/logger.js';
import { checkOption, integerIn, ipv4Argument, logFormatOption, logLevelOption, portArgument, type LogLevel } from './common-options.js';
import { checkTalkdMachine, checkTalkdUsage, type TalkdOptionsToCheck } from './doctor/check-talkd-options.js';
import { systemPrerequisiteProbes } from './doctor/system-probes.js';
import { systemDoctorProbes } from './doctor/doctor-probes.js';
import { formatDiagnostic } from '../config/config-diagnostic.js';
import { DEFAULT_MAX_INVITATIONS, DEFAULT_MAX_INVITATIONS_PER_SOURCE, DEFAULT_RATE_PER_SECOND } from '../daemon/daemon-limits.js';
import { runTalkd, systemdListenFds } from '../daemon/run-talkd.js';
import { DEFAULT_DEV_DIR, DEFAULT_UTMP_PATH } from '../daemon/utmp.js';
import { sanitizeText } from '../shared/sanitize.js';
import { describeError, errorCode } from '../shared/talk-error.js';

interface RawOptions {
  port: number;
  otalkPort: number;
  ntalk: boolean;
  otalk: boolean;
  bind: string;
  utmp: string;
  devDir: string;
  maxInvitations: number;
  maxInvitationsPerSource: number;
  rate: number;
  user: string;
  group: string;
  hostname: string;
  inetd: boolean;
  maxIdle: number;
  logFormat: LogFormat;
  logLevel: LogLevel;
  logFile?: string;
  check?: boolean;
}

export function command(): Command {
  return new Command('talkd')
    .description(
      'talk daemon: ntalk (udp/518) and otalk (udp/517). Standalone by default; --inetd for an inetd ' +
        '"wait" service (socket on fd 0); systemd socket activation is detected from LISTEN_FDS.',
    )
    .option('--port <n>', 'ntalk UDP port', portArgument(true), NTALK_PORT)
    .option('--otalk-port <n>', 'otalk UDP port', portArgument(true), OTALK_PORT)
    .option('--no-ntalk', 'do not serve ntalk')
    .option('--no-otalk', 'do not serve otalk')
    .option('--bind <addr>', 'IPv4 address to bind (standalone)', ipv4Argument, '0.0.0.0')
    .option('--utmp <path>', 'utmp file listing logged-in users', DEFAULT_UTMP_PATH)
    .addOption(new Option('--dev-dir <path>', 'directory of the tty devices').default(DEFAULT_DEV_DIR).hideHelp())
    .option('--max-invitations <n>', 'invitation table bound', integerIn(1, 1_000_000), DEFAULT_MAX_INVITATIONS)
    .option(
      '--max-invitations-per-source <n>',
      'fair share of the invitation table per source address (capped at --max-invitations)',
      integerIn(1, 1_000_000),
      DEFAULT_MAX_INVITATIONS_PER_SOURCE,
    )
    .option('--rate <n>', 'requests per second allowed per source address', integerIn(1, 1_000_000), DEFAULT_RATE_PER_SECOND)
    .option('--user <name>', 'user to run as after binding (when started as root)', 'nobody')
    .option('--group <name>', 'group to run as after binding (must be able to write ttys)', 'tty')
    .option('--hostname <name>', 'host name shown in announcements', hostname())
    .option('--inetd', 'run under inetd (wait mode): the UDP socket is fd 0; exit when idle', false)
    .option('--max-idle <seconds>', 'inetd mode: exit after this long without packets', integerIn(1, 86_400), MAX_IDLE_MS / 1000)
    .addOption(logFormatOption())
    .addOption(logLevelOption())
    .option('--log-file <path>', 'append logs to this file instead of stderr (useful under inetd)')
    .addOption(checkOption('the options'))
    .action(async (o: RawOptions, cmd: Command) => {
      const toCheck: TalkdOptionsToCheck = {
        ntalkPort: o.ntalk ? o.port : undefined,
        otalkPort: o.otalk ? o.otalkPort : undefined,
        utmp: o.utmp,
        devDir: o.devDir,
        user: o.user,
        group: o.group,
        hostname: o.hostname,
        standalone: !o.inetd && systemdListenFds(process.env, process.pid) === undefined,
      };
      const usage = checkTalkdUsage(toCheck);
      if (usage.length > 0) {
        // Contradictory options are a usage error (exit 2 on stderr), as commander's own are.
        cmd.error(usage.map((p) => `error: ${formatDiagnostic('talkd', p)}`).join('\n'), { exitCode: 2, code: 'talkgate.usage' });
      }
      if (o.check === true) {
        const problems = checkTalkdMachine(toCheck, { prerequisites: systemPrerequisiteProbes(), doctor: systemDoctorProbes() });
        for (const p of problems) process.stderr.write(`${formatDiagnostic('talkd', p)}\n`);
        if (problems.length === 0) process.stdout.write('talkd: options are valid\n');
        else process.stderr.write(`talkd: options are invalid: ${problems.length === 1 ? '1 error' : `${problems.length} errors`}\n`);
        process.exitCode = problems.length === 0 ? 0 : 1;
        return;
      }
      const logger = createLogger({
        name: 'talkgate-talkd',
        format: o.logFormat,
        level: o.logLevel,
        ...(o.logFile !== undefined ? { destination: logFileStream(o.logFile) } : {}),
      });
      const mode = o.inetd ? 'inetd' : systemdListenFds(process.env, process.pid) !== undefined ? 'systemd' : 'standalone';
      try {
        await runTalkd({
          ntalkPort: o.ntalk ? o.port : undefined,
          otalkPort: o.otalk ? o.otalkPort : undefined,
          bind: o.bind,
          utmpPath: o.utmp,
          devDir: o.devDir,
          maxInvitations: o.maxInvitations,
          maxInvitationsPerSource: Math.min(o.maxInvitationsPerSource, o.maxInvitations),
          ratePerSecond: o.rate,
          user: o.user,
          group: o.group,
          hostname: o.hostname,
          mode,
          maxIdleMs: o.maxIdle * 1000,
          logger,
        });
        process.exitCode = 0;
      } catch (err: unknown) {
        logger.fatal({ code: errorCode(err), err: sanitizeText(err instanceof Error ? err.message : String(err)) }, 'talkd failed');
        process.stderr.write(`talkgate talkd: ${sanitizeText(describeError(err))}\n`);
        process.exitCode = 1;
      }
    });
}
