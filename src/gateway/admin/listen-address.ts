/** Parses the admin listener's `host:port` (IPv6 as `[::1]:9518`). */

/** Default admin listener: loopback only (issue 4, "admin listener (loopback by default)"). */
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9518';

export interface HostPort {
  host: string;
  port: number;
}

/** Throws RangeError with a clear message on a malformed value. */
export function parseHostPort(value: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new RangeError(`Invalid host:port "${value}": expected e.g. 127.0.0.1:9518 or [::1]:9518`);
  return { host: m[1] ?? m[2] ?? '', port };
}
