/**
 * The role of one node of an HA pair (pure): keepalived's notify states mapped onto what the
 * gateway does. Only a master opens holes; any other state is a backup that holds none, so a node
 * that comes back (or is demoted) removes whatever holes it still has, every time it is told.
 */

/** keepalived.conf(5) `notify`: the state keepalived passes to the script. */
export const HA_STATES = ['MASTER', 'BACKUP', 'FAULT', 'STOP'] as const;
export type HaState = (typeof HA_STATES)[number];
export type HaRole = 'master' | 'backup';

export interface HaTransition {
  readonly role: HaRole;
  /** The node changes role with this notification. */
  readonly changed: boolean;
  /** Remove every hole this node holds (and end its calls): always when not master. */
  readonly removeHoles: boolean;
}

export function roleOfState(state: HaState): HaRole {
  return state === 'MASTER' ? 'master' : 'backup';
}

export function haTransition(current: HaRole, next: HaState): HaTransition {
  const role = roleOfState(next);
  return { role, changed: role !== current, removeHoles: role === 'backup' };
}
