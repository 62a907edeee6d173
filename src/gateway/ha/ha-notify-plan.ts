/**
 * What `talkgate ha notify STATE` runs, in order (pure). conntrack-tools' own failover script
 * (doc/sync/primary-backup.sh) gives the conntrackd steps; the order around the gateway is the
 * issue's: a new master commits the replicated flows into its kernel BEFORE the gateway serves
 * (keepalived issues #2254, #2414: serving first makes the kernel reset the flows) and resyncs
 * conntrackd's caches afterwards; a node that
 * steps down stops opening holes first and only then lets conntrackd age its stale entries.
 */
import type { HaState } from './ha-role.js';

export interface ConntrackdSetting {
  readonly program: string;
  readonly config: string;
}

export interface HaNotifyPlan {
  /** conntrackd runs before the gateway is told (argv each). */
  readonly before: readonly (readonly string[])[];
  /** conntrackd runs after the gateway was told. */
  readonly after: readonly (readonly string[])[];
}

/**
 * primary-backup.sh "primary": commit the external cache (before the gateway serves: the flows
 * must be in the kernel first), then flush both caches, resync from the kernel and bulk-send to
 * the backup (after: they touch only conntrackd's caches, and a new call need not wait for them).
 */
const MASTER_COMMIT = ['-c'] as const;
const MASTER_RESYNC = ['-f', '-R', '-B'] as const;
/** "backup": shorten the kernel timers of what this node held (-t), ask the master for a full resync (-n). */
const BACKUP_STEPS = ['-t', '-n'] as const;
/** "fault": shorten the kernel timers only. */
const FAULT_STEPS = ['-t'] as const;

/** `committed`: the notify hook has already run `conntrackd -c` itself (examples/talkgate-ha-notify). */
export function haNotifyPlan(state: HaState, conntrackd: ConntrackdSetting | undefined, committed = false): HaNotifyPlan {
  const argv = (flag: string): string[] => (conntrackd === undefined ? [] : [conntrackd.program, '-C', conntrackd.config, flag]);
  const steps = (flags: readonly string[]): string[][] => (conntrackd === undefined ? [] : flags.map(argv));
  switch (state) {
    case 'MASTER':
      return { before: committed ? [] : steps(MASTER_COMMIT), after: steps(MASTER_RESYNC) };
    case 'BACKUP':
      return { before: [], after: steps(BACKUP_STEPS) };
    case 'FAULT':
    case 'STOP':
      return { before: [], after: steps(FAULT_STEPS) };
  }
}
