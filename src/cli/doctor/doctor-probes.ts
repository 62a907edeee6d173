/**
 * What the doctor looks up beyond the mode's prerequisites: file metadata, accounts and names.
 * The interface is injected so the checks are tested without the host; {@link systemDoctorProbes}
 * is the real machine.
 */
import { statSync, readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';

/** The metadata a permission check needs (ACLs are not consulted). */
export interface FileFacts {
  readonly kind: 'file' | 'directory' | 'other';
  readonly uid: number;
  readonly gid: number;
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
}

/** An account: its uid, primary gid and every group it is a member of. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

export type ResolveOutcome = 'resolved' | 'unresolved' | 'timeout';

export interface DoctorProbes {
  /** Metadata of `path` (following symlinks), undefined when it does not exist. */
  stat(path: string): FileFacts | undefined;
  /** The account called `name`, undefined when there is none. */
  account(name: string): Account | undefined;
  /** The gid of group `name`, undefined when there is none. */
  group(name: string): number | undefined;
  /** The account this process runs as. */
  self(): Account;
  /** Whether `host` resolves to an IPv4 address within `timeoutMs`. */
  resolve(host: string, timeoutMs: number): Promise<ResolveOutcome>;
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** /etc/passwd and /etc/group (NSS modules beyond files are not consulted). */
function accountFromFiles(match: (fields: string[]) => boolean): Account | undefined {
  const entry = readLines('/etc/passwd').map((l) => l.split(':')).find((f) => f.length >= 7 && match(f));
  if (entry === undefined) return undefined;
  const [name, , uid, gid] = entry as [string, string, string, string];
  const groups = new Set<number>([Number(gid)]);
  for (const g of readLines('/etc/group').map((l) => l.split(':'))) {
    if (g.length >= 4 && (g[3] ?? '').split(',').includes(name)) groups.add(Number(g[2]));
  }
  return { name, uid: Number(uid), gid: Number(gid), groups: [...groups] };
}

export function systemDoctorProbes(): DoctorProbes {
  return {
    stat(path) {
      try {
        const s = statSync(path);
        return { kind: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other', uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
      } catch {
        return undefined;
      }
    },
    account: (name) => accountFromFiles((f) => f[0] === name),
    group(name) {
      const g = readLines('/etc/group').map((l) => l.split(':')).find((f) => f.length >= 4 && f[0] === name);
      return g === undefined ? undefined : Number(g[2]);
    },
    self() {
      const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
      const gid = typeof process.getgid === 'function' ? process.getgid() : 0;
      const found = accountFromFiles((f) => Number(f[2]) === uid);
      const groups = typeof process.getgroups === 'function' ? process.getgroups() : [gid];
      return { name: found?.name ?? String(uid), uid, gid, groups: [...new Set([gid, ...groups])] };
    },
    async resolve(host, timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<ResolveOutcome>((res) => {
        timer = setTimeout(() => res('timeout'), timeoutMs);
        timer.unref();
      });
      const query = lookup(host, { family: 4 }).then(
        (): ResolveOutcome => 'resolved',
        (): ResolveOutcome => 'unresolved',
      );
      try {
        return await Promise.race([query, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
