/** Who an unprivileged worker runs as: a user's uid/gid through NSS (`getent`), never root. */
import { spawnSync } from 'node:child_process';
import { TalkError } from '../shared/talk-error.js';

/** Default worker user (Debian's nobody) when the configuration names none. */
export const DEFAULT_WORKER_USER = 'nobody';
/** Bound on one `getent` lookup. */
const GETENT_TIMEOUT_MS = 5_000;

/** uid/gid of a user (and its primary group, or `group`) through NSS (`getent`). */
export function lookupUser(user: string, group?: string): { uid: number; gid: number } {
  const entry = (db: string, key: string): string[] => {
    const r = spawnSyncText('getent', [db, key]);
    if (r === undefined) throw new TalkError('PRIVSEP_USER', `no ${db} entry ${JSON.stringify(key)}`);
    return r.split(':');
  };
  const pw = entry('passwd', user);
  const uid = Number(pw[2]);
  let gid = Number(pw[3]);
  if (group !== undefined) gid = Number(entry('group', group)[2]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new TalkError('PRIVSEP_USER', `bad passwd/group entry for ${user}`);
  if (uid === 0) throw new TalkError('PRIVSEP_USER', `[privileges] user ${user} is root: the worker must run unprivileged`);
  return { uid, gid };
}

function spawnSyncText(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: GETENT_TIMEOUT_MS });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

