/**
 * Choosing the callee's tty (netkit/BSD find_user()), pure: utmp records and the mode/atime of
 * each /dev/<line> go in, the outcome comes out as data.
 */
import type { PermissionDeniedReason } from './permission-denied-reason.js';
import type { UtmpRecord } from './utmp-record.js';

/** Outcome of a user lookup, as the classic daemons answer it. */
export type UserLookup =
  | { readonly kind: 'found'; readonly tty: string }
  | { readonly kind: 'not-here' }
  | { readonly kind: 'permission-denied'; readonly reason: PermissionDeniedReason }
  | { readonly kind: 'failed' };

/** What stat(2) says about /dev/<line>; `undefined` when it does not exist. */
export interface TtyStat {
  readonly mode: number;
  readonly atimeMs: number;
}

/** S_IWGRP: `mesg y`. */
export const TTY_GROUP_WRITE = 0o020;

/** A utmp line is usable only as a plain relative device name (no `..`, no leading `/`). */
export function isSafeTtyLine(line: string): boolean {
  return line.length > 0 && !line.startsWith('/') && !line.split('/').includes('..') && /^[\x21-\x7e]+$/.test(line);
}

/**
 * find_user(): among USER_PROCESS records of `name` (and only line `tty` when given), the tty with
 * the group-write bit and the newest atime. NOT_HERE when the user has no matching record,
 * PERMISSION_DENIED when every matching tty refuses messages, FAILED when a requested tty is gone.
 */
export function chooseTty(
  records: readonly UtmpRecord[],
  name: string,
  tty: string,
  statTty: (line: string) => TtyStat | undefined,
): UserLookup {
  let outcome: UserLookup = { kind: 'not-here' };
  let best = -Infinity;
  for (const r of records) {
    if (r.type !== USER_PROCESS || r.user !== name || !isSafeTtyLine(r.line)) continue;
    if (tty !== '' && r.line !== tty) continue;
    const st = statTty(r.line);
    if (st === undefined) {
      if (outcome.kind === 'not-here') outcome = { kind: 'failed' };
      continue;
    }
    if ((st.mode & TTY_GROUP_WRITE) === 0) {
      if (outcome.kind !== 'found') outcome = { kind: 'permission-denied', reason: 'mesg-n' };
      continue;
    }
    if (st.atimeMs > best) {
      best = st.atimeMs;
      outcome = { kind: 'found', tty: r.line };
    }
  }
  return outcome;
}

/** utmp ut_type of a logged-in user (glibc bits/utmp.h). */
export const USER_PROCESS = 7;
