/**
 * glibc `struct utmp` on x86-64 / aarch64 Linux (bits/utmp.h), 384 bytes, host (little-endian)
 * order. Offsets verified against /run/utmp and glibc: ut_type is a `short` padded to 4.
 *
 *   0 ut_type i16 | 4 ut_pid i32 | 8 ut_line[32] | 40 ut_id[4] | 44 ut_user[32] | 76 ut_host[256]
 *   332 ut_exit {i16,i16} | 336 ut_session i32 | 340 ut_tv {i32 sec, i32 usec} | 348 ut_addr_v6[4] i32
 *   364 __glibc_reserved[20]
 */

export const UTMP_RECORD_SIZE = 384;
export const UT_TYPE_OFFSET = 0;
export const UT_PID_OFFSET = 4;
export const UT_LINE_OFFSET = 8;
export const UT_LINESIZE = 32;
export const UT_ID_OFFSET = 40;
export const UT_USER_OFFSET = 44;
export const UT_NAMESIZE = 32;
export const UT_HOST_OFFSET = 76;
export const UT_HOSTSIZE = 256;
export const UT_TV_SEC_OFFSET = 340;
/** Bound on records read from one utmp file (a 1.5 MB file); more are ignored. */
export const MAX_UTMP_RECORDS = 4096;

export interface UtmpRecord {
  readonly type: number;
  readonly pid: number;
  readonly line: string;
  readonly user: string;
  readonly host: string;
  /** ut_tv.tv_sec */
  readonly loginTime: number;
}

const LATIN1 = new TextDecoder('latin1');

function cString(bytes: Uint8Array, offset: number, size: number): string {
  const field = bytes.subarray(offset, offset + size);
  const nul = field.indexOf(0);
  return LATIN1.decode(nul === -1 ? field : field.subarray(0, nul));
}

/** Parses whole records; a trailing partial record is ignored (as getutent() does). */
export function parseUtmp(bytes: Uint8Array): UtmpRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.min(Math.floor(bytes.byteLength / UTMP_RECORD_SIZE), MAX_UTMP_RECORDS);
  const out: UtmpRecord[] = [];
  for (let i = 0; i < count; i++) {
    const base = i * UTMP_RECORD_SIZE;
    out.push({
      type: view.getInt16(base + UT_TYPE_OFFSET, true),
      pid: view.getInt32(base + UT_PID_OFFSET, true),
      line: cString(bytes, base + UT_LINE_OFFSET, UT_LINESIZE),
      user: cString(bytes, base + UT_USER_OFFSET, UT_NAMESIZE),
      host: cString(bytes, base + UT_HOST_OFFSET, UT_HOSTSIZE),
      loginTime: view.getInt32(base + UT_TV_SEC_OFFSET, true),
    });
  }
  return out;
}

/** Builds one record (for tests and tools that write utmp). */
export function encodeUtmpRecord(r: UtmpRecord): Uint8Array {
  const bytes = new Uint8Array(UTMP_RECORD_SIZE);
  const view = new DataView(bytes.buffer);
  view.setInt16(UT_TYPE_OFFSET, r.type, true);
  view.setInt32(UT_PID_OFFSET, r.pid, true);
  const put = (s: string, offset: number, size: number): void => {
    const enc = Uint8Array.from(s.slice(0, size), (c) => c.charCodeAt(0) & 0xff);
    bytes.set(enc, offset);
  };
  put(r.line, UT_LINE_OFFSET, UT_LINESIZE);
  put(r.user, UT_USER_OFFSET, UT_NAMESIZE);
  put(r.host, UT_HOST_OFFSET, UT_HOSTSIZE);
  view.setInt32(UT_TV_SEC_OFFSET, r.loginTime, true);
  return bytes;
}
