/**
 * Switching a process started as root to an unprivileged user: group first (and the
 * supplementary groups), then the user; setuid from root to another uid clears every capability.
 * Then the process proves it: CapEff in /proc/self/status must be zero.
 */
import { readFileSync } from 'node:fs';
import { TalkError } from '../shared/talk-error.js';

/** Debian's nobody/nogroup; the group falls back to "nobody" where there is no "nogroup". */
export const DEFAULT_UNPRIVILEGED_USER = 'nobody';
export const DEFAULT_UNPRIVILEGED_GROUPS: readonly string[] = ['nogroup', 'nobody'];

export interface RunningAs {
  readonly user: string;
  readonly group?: string;
}

/** Drops to `user` (and `group`, else nogroup/nobody); a no-op unless running as root. */
export function dropPrivileges(user: string, group?: string): RunningAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let chosen = group;
  if (typeof process.setgid === 'function') {
    const candidates = group !== undefined ? [group] : DEFAULT_UNPRIVILEGED_GROUPS;
    for (const g of candidates) {
      try {
        process.setgid(g);
        chosen = g;
        break;
      } catch (err: unknown) {
        if (g === candidates[candidates.length - 1]) throw err;
      }
    }
  }
  // process.initgroups (POSIX) is missing from @types/node 20: reach it through a narrow cast.
  const initgroups = (process as unknown as { initgroups?: (user: string, extraGroup: string) => void }).initgroups;
  if (chosen !== undefined && typeof initgroups === 'function') initgroups.call(process, user, chosen);
  if (typeof process.setuid === 'function') process.setuid(user);
  return { user, ...(chosen !== undefined ? { group: chosen } : {}) };
}

/** This process's effective capability set (hex, as /proc shows it), or undefined off Linux. */
export function effectiveCapabilities(): string | undefined {
  try {
    return /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * A worker's last step before it reads a byte from a peer: drops to `user` (and `group`), enters
 * its empty working directory, and refuses to go on unless it is no longer root and holds no
 * capability. Returns who it runs as.
 */
export function becomeUnprivilegedWorker(user: string, group: string | undefined, workdir: string): RunningAs | undefined {
  const as = dropPrivileges(user, group);
  process.chdir(workdir);
  if (typeof process.getuid === 'function' && process.getuid() === 0) throw new TalkError('PRIVSEP_DROP', 'worker still runs as root');
  const caps = effectiveCapabilities();
  if (caps !== undefined && !/^0+$/.test(caps)) throw new TalkError('PRIVSEP_DROP', `worker still holds capabilities (CapEff ${caps})`);
  return as;
}
