/**
 * `talkgate talkd` option checks: contradictions among the options are usage errors (exit 2, at
 * every start); with `--check` the machine is looked at too (utmp readable, tty directory present,
 * run-as account and group exist, a port below the unprivileged start can be bound). Findings use
 * the option as their key (`talkd: --port: ...`). Pure over the injected probes.
 */
import type { Diagnostic } from '../../config/config-diagnostic.js';
import { CAP_NET_BIND_SERVICE, type PrerequisiteProbes } from '../../config/mode-prerequisites.js';
import type { DoctorProbes } from './doctor-probes.js';

export type TalkdCheckCode =
  | 'nothing-served'
  | 'same-port'
  | 'bad-hostname'
  | 'utmp-unreadable'
  | 'dev-dir-missing'
  | 'user-missing'
  | 'group-missing'
  | 'cap-net-bind-service-missing';

/** A finding; `kind: 'usage'` ones make the command line itself unusable. */
export type TalkdProblem = Diagnostic<TalkdCheckCode> & { readonly kind: 'usage' | 'machine' };

export interface TalkdOptionsToCheck {
  readonly ntalkPort: number | undefined;
  readonly otalkPort: number | undefined;
  readonly utmp: string;
  readonly devDir: string;
  readonly user: string;
  readonly group: string;
  readonly hostname: string;
  /** Standalone binds its own sockets (inetd and systemd hand them over). */
  readonly standalone: boolean;
}

/** Longest host name (RFC 1035 §2.3.4: 255 octets on the wire, 253 as text). */
export const MAX_HOSTNAME_LENGTH = 253;

const usage = (code: TalkdCheckCode, key: string, message: string): TalkdProblem => ({ severity: 'error', code, key, message, kind: 'usage' });
const machine = (code: TalkdCheckCode, key: string, message: string): TalkdProblem => ({ severity: 'error', code, key, message, kind: 'machine' });

/** Contradictory or malformed options (no machine access). */
export function checkTalkdUsage(o: TalkdOptionsToCheck): TalkdProblem[] {
  const out: TalkdProblem[] = [];
  if (o.ntalkPort === undefined && o.otalkPort === undefined) out.push(usage('nothing-served', '--no-ntalk', 'with --no-otalk too, nothing is served'));
  if (o.ntalkPort !== undefined && o.ntalkPort !== 0 && o.ntalkPort === o.otalkPort) {
    out.push(usage('same-port', '--otalk-port', `must differ from --port (${o.ntalkPort})`));
  }
  if (!/^[A-Za-z0-9_]([A-Za-z0-9_.-]*)$/.test(o.hostname) || o.hostname.length > MAX_HOSTNAME_LENGTH) {
    out.push(usage('bad-hostname', '--hostname', `${JSON.stringify(o.hostname)} is not a host name (letters, digits, '_', '.', '-', at most ${MAX_HOSTNAME_LENGTH})`));
  }
  return out;
}

/** What `--check` adds: the files, accounts and privileges the options need on this machine. */
export function checkTalkdMachine(
  o: TalkdOptionsToCheck,
  probes: { prerequisites: Pick<PrerequisiteProbes, 'effectiveCapabilities' | 'unprivilegedPortStart'>; doctor: Pick<DoctorProbes, 'stat' | 'account' | 'group' | 'self'> },
): TalkdProblem[] {
  const out: TalkdProblem[] = [];
  const utmp = probes.doctor.stat(o.utmp);
  if (utmp === undefined || utmp.kind !== 'file') out.push(machine('utmp-unreadable', '--utmp', `${o.utmp} is not a file: every ANNOUNCE would be answered NOT_HERE`));
  if (probes.doctor.stat(o.devDir)?.kind !== 'directory') out.push(machine('dev-dir-missing', '--dev-dir', `${o.devDir} is not a directory`));
  const root = probes.doctor.self().uid === 0;
  if (root && probes.doctor.account(o.user) === undefined) out.push(machine('user-missing', '--user', `no user ${o.user} to run as`));
  if (root && probes.doctor.group(o.group) === undefined) out.push(machine('group-missing', '--group', `no group ${o.group} to run as (it must be able to write ttys)`));
  if (o.standalone) {
    const start = probes.prerequisites.unprivilegedPortStart();
    const caps = probes.prerequisites.effectiveCapabilities();
    const canBind = caps === undefined || (caps & (1n << BigInt(CAP_NET_BIND_SERVICE))) !== 0n;
    for (const [key, port] of [['--port', o.ntalkPort], ['--otalk-port', o.otalkPort]] as const) {
      if (port !== undefined && port !== 0 && port < start && !canBind) {
        out.push(machine('cap-net-bind-service-missing', key, `port ${port} is below ${start}: run as root or with CAP_NET_BIND_SERVICE`));
      }
    }
  }
  return out;
}
