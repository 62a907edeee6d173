/**
 * Lab prerequisites. Outside CI a lab test skips with a printed reason; with CI=true a missing
 * prerequisite is a failure (issue 2 §1).
 */
import { accessSync, constants } from 'node:fs';
import { runSync } from './proc.js';
import { INETD, INETUTILS_TALK, INETUTILS_TALKD, NETKIT_TALK, NETKIT_TALKD } from './peers.js';

/** Programs every lab needs (namespaces, tmux login, daemons, captures, firewall). */
export const LAB_BINARIES: readonly string[] = [
  '/usr/sbin/ip',
  '/usr/bin/nsenter',
  '/usr/bin/unshare',
  '/usr/sbin/runuser',
  '/usr/bin/tmux',
  '/usr/sbin/nft',
  '/usr/bin/tcpdump',
  INETD,
  NETKIT_TALK,
  INETUTILS_TALK,
  NETKIT_TALKD,
  INETUTILS_TALKD,
];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the lab cannot run here, or undefined when it can.
 * @param extraBinaries further absolute paths a particular test needs (e.g. '/usr/bin/natpmpc').
 */
export function labSkipReason(extraBinaries: readonly string[] = []): string | undefined {
  if (process.platform !== 'linux') return 'lab needs Linux network namespaces';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'lab needs root (network namespaces)';
  const missing = [...LAB_BINARIES, ...extraBinaries].filter((p) => !executable(p));
  if (missing.length) return `lab prerequisites missing: ${missing.join(', ')} (run .ci/run or see test/lab/README.md)`;
  const r = runSync(['/usr/sbin/ip', 'netns', 'list']);
  if (r.code !== 0) return `'ip netns list' failed: ${r.stderr.trim()}`;
  return undefined;
}

export function inCI(): boolean {
  return process.env['CI'] === 'true';
}

/**
 * For `test(name, { skip: labSkip() }, fn)`: false when the lab can run, the reason string
 * (node:test prints it) when it cannot outside CI, and throws under CI=true.
 */
export function labSkip(extraBinaries: readonly string[] = []): string | false {
  const reason = labSkipReason(extraBinaries);
  if (reason === undefined) return false;
  if (inCI()) throw new Error(`CI=true and the lab cannot run: ${reason}`);
  return reason;
}
