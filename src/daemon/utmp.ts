/**
 * The utmp adapter: reads the real utmp file (default /run/utmp) and stats /dev/<line>, then
 * lets the pure chooseTty() decide. Reads are bounded (MAX_UTMP_RECORDS).
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseTty, type TtyStat, type UserLookup } from './user-lookup.js';
import { MAX_UTMP_RECORDS, parseUtmp, UTMP_RECORD_SIZE, type UtmpRecord } from './utmp-record.js';

/** glibc _PATH_UTMP. */
export const DEFAULT_UTMP_PATH = '/run/utmp';
/** _PATH_DEV. */
export const DEFAULT_DEV_DIR = '/dev';

export interface UtmpSource {
  readonly utmpPath: string;
  readonly devDir: string;
}

/** Reads at most MAX_UTMP_RECORDS records; a missing utmp file means nobody is logged in. */
export async function readUtmp(path: string): Promise<UtmpRecord[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const buf = new Uint8Array(MAX_UTMP_RECORDS * UTMP_RECORD_SIZE);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, filled, buf.byteLength - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buf.byteLength) break;
    }
    return parseUtmp(buf.subarray(0, filled));
  } finally {
    await handle.close();
  }
}

/** find_user() against the real utmp and /dev. A utmp read error answers FAILED. */
export async function lookUpUser(source: UtmpSource, name: string, tty: string): Promise<UserLookup> {
  let records: UtmpRecord[];
  try {
    records = await readUtmp(source.utmpPath);
  } catch {
    return { kind: 'failed' };
  }
  const candidates = records.filter((r) => r.user === name && (tty === '' || r.line === tty));
  const stats = new Map<string, TtyStat | undefined>();
  for (const r of candidates) {
    if (stats.has(r.line)) continue;
    try {
      const st = await stat(join(source.devDir, r.line));
      stats.set(r.line, { mode: st.mode, atimeMs: st.atimeMs });
    } catch {
      stats.set(r.line, undefined);
    }
  }
  return chooseTty(candidates, name, tty, (line) => stats.get(line));
}
