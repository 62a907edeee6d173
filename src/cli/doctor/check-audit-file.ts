/**
 * `[audit] file` must be a file the gateway can append to as the user it runs as (after dropping
 * privileges): an existing file writable by that user, or a new one in a directory it can write
 * and search. Owner/group/other permission bits only (ACLs are not consulted); root may write
 * anything. Pure over {@link DoctorProbes}.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Account, DoctorProbes, FileFacts } from './doctor-probes.js';
import type { DoctorDiagnostic } from './doctor-diagnostic.js';

const W = 2;
const X = 1;

/** True when `who` has all of `bits` (rwx = 4|2|1) on `f` by the classic Unix rules. */
export function permits(who: Account, f: FileFacts, bits: number): boolean {
  if (who.uid === 0) return true;
  const granted = f.uid === who.uid ? (f.mode >> 6) & 7 : who.groups.includes(f.gid) ? (f.mode >> 3) & 7 : f.mode & 7;
  return (granted & bits) === bits;
}

/** Directories from / down to `dir`. */
function chain(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    out.unshift(d);
    if (dirname(d) === d) return out;
  }
}

/**
 * Problems with `file` for `who`. With `preparedByRoot` (a gateway started as root) the privileged
 * process creates the file and gives it to `who`, so `who` only needs to reach it (search
 * permission on every directory above it) to open and reopen it.
 */
export function checkAuditFile(file: string, who: Account, probes: Pick<DoctorProbes, 'stat'>, options: { readonly preparedByRoot?: boolean } = {}): DoctorDiagnostic[] {
  const key = 'audit.file';
  const out: DoctorDiagnostic[] = [];
  if (!isAbsolute(file)) {
    out.push({ severity: 'warning', code: 'audit-relative-path', key, message: `${file} is relative: it is opened from the working directory (/ under systemd)` });
  }
  const path = resolve(file);
  const st = probes.stat(path);
  if (st?.kind === 'directory') return [...out, { severity: 'error', code: 'audit-is-directory', key, message: `${path} is a directory; give a file path inside it` }];
  if (st !== undefined && st.kind !== 'file') return [...out, { severity: 'error', code: 'audit-not-a-file', key, message: `${path} is not a regular file` }];
  const parent = dirname(path);
  const dirs = chain(parent);
  for (const d of dirs) {
    const ds = probes.stat(d);
    if (ds === undefined) return [...out, { severity: 'error', code: 'audit-directory-missing', key, message: `directory ${d} does not exist` }];
    if (ds.kind !== 'directory') return [...out, { severity: 'error', code: 'audit-directory-missing', key, message: `${d} is not a directory` }];
    if (!permits(who, ds, X)) {
      return [...out, { severity: 'error', code: 'audit-not-writable', key, message: `user ${who.name} cannot enter ${d} (no search permission)` }];
    }
  }
  if (options.preparedByRoot === true) return out;
  if (st !== undefined) {
    if (!permits(who, st, W)) out.push({ severity: 'error', code: 'audit-not-writable', key, message: `user ${who.name} cannot write ${path}` });
    return out;
  }
  const ps = probes.stat(parent) as FileFacts;
  if (!permits(who, ps, W | X)) {
    out.push({ severity: 'error', code: 'audit-not-writable', key, message: `user ${who.name} cannot create ${path} (no write permission on ${parent})` });
  }
  return out;
}
