/**
 * The utmp adapter: reads the real utmp file (default /run/utmp) and stats /dev/<line>, then
 * lets the pure chooseTty() decide. Reads are bounded (MAX_UTMP_RECORDS) and use a buffer sized
 * to the file, never the 1.5 MB worst case (issue 18: 15,000 ANNOUNCEs took RSS from 73 to
 * 263 MB). A UtmpView caches the parsed records and re-reads only when the file changed.
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
  /** A cached view of `utmpPath`; without one, every lookup reads the file. */
  readonly view?: UtmpView;
}

/**
 * A file modified this recently may change again within the same timestamp tick (Linux file
 * times advance with the coarse clock, a few ms), so a view that saw such an mtime is not trusted:
 * it re-reads until the change is older than this (git's "racy" index rule, with margin).
 */
export const UTMP_RACY_WINDOW_MS = 1_000;

/**
 * The parsed records of one utmp file, cached while its identity and change times stay the same
 * (device, inode, size, mtime and ctime in ns: utmp is rewritten in place, slots reused, so the
 * size alone is no witness). Memory per request is constant: a hit costs one stat(2).
 */
export class UtmpView {
  readonly #path: string;
  #key: string | undefined;
  #records: readonly UtmpRecord[] = [];

  constructor(path: string) {
    this.#path = path;
  }

  get path(): string {
    return this.#path;
  }

  /** The current records; a missing file means nobody is logged in. */
  async records(): Promise<readonly UtmpRecord[]> {
    let st;
    try {
      st = await stat(this.#path, { bigint: true });
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.#key = undefined;
      this.#records = [];
      return this.#records;
    }
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    if (key === this.#key) return this.#records;
    const records = await readUtmp(this.#path);
    // A write sets mtime to the current tick; only a settled mtime can witness "no write since".
    // (utimes() moving mtime back changes ctime, part of the key; the next write moves mtime.)
    this.#key = Date.now() - Number(st.mtimeMs) > UTMP_RACY_WINDOW_MS ? key : undefined;
    this.#records = records;
    return records;
  }
}

/**
 * Reads at most MAX_UTMP_RECORDS records into a buffer sized to the file (fstat of the open
 * handle); a missing utmp file means nobody is logged in.
 */
export async function readUtmp(path: string): Promise<UtmpRecord[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const wanted = Math.min(Math.floor(size / UTMP_RECORD_SIZE), MAX_UTMP_RECORDS) * UTMP_RECORD_SIZE;
    if (wanted === 0) return [];
    const buf = new Uint8Array(wanted);
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
  let records: readonly UtmpRecord[];
  try {
    records = source.view !== undefined ? await source.view.records() : await readUtmp(source.utmpPath);
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
