/** Test double of {@link DoctorProbes}: an in-memory file tree, accounts and resolver. Tests only. */
import type { Account, DoctorProbes, FileFacts, ResolveOutcome } from '../doctor-probes.js';

export const ROOT: Account = { name: 'root', uid: 0, gid: 0, groups: [0] };
export const NOBODY: Account = { name: 'nobody', uid: 65534, gid: 65534, groups: [65534] };
export const ADM: Account = { name: 'tg', uid: 1000, gid: 1000, groups: [1000, 4] };

export const dir = (mode: number, uid = 0, gid = 0): FileFacts => ({ kind: 'directory', uid, gid, mode });
export const file = (mode: number, uid = 0, gid = 0): FileFacts => ({ kind: 'file', uid, gid, mode });

export function fakeDoctorProbes(o: {
  files?: Record<string, FileFacts>;
  self?: Account;
  accounts?: readonly Account[];
  groups?: Record<string, number>;
  resolve?: (host: string) => ResolveOutcome;
  asked?: string[];
} = {}): DoctorProbes {
  const files: Record<string, FileFacts> = { '/': dir(0o755), ...o.files };
  const accounts = o.accounts ?? [ROOT, NOBODY, ADM];
  return {
    stat: (p) => files[p],
    account: (n) => accounts.find((a) => a.name === n),
    group: (n) => o.groups?.[n],
    self: () => o.self ?? ROOT,
    resolve: async (h) => {
      o.asked?.push(h);
      return o.resolve?.(h) ?? 'resolved';
    },
  };
}
