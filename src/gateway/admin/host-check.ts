/**
 * The admin listener's Host-header check (issue 18): a DNS-rebinding page reaches the listener under
 * a name the attacker controls, so only the configured listen address (with its port) and the names
 * given in `[admin] hosts` (plus `localhost` when the listener is on loopback) are answered.
 */

/** Names always accepted for a loopback listener (RFC 6761 §6.3: localhost resolves to loopback). */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['localhost'];

/** Ports a browser leaves out of the Host header (RFC 9110 §4.2: http 80, https 443). */
const SCHEME_DEFAULT_PORTS: readonly number[] = [80, 443];

/** Longest Host header considered (RFC 1035 name of 253 octets + brackets + ":65535"). */
export const MAX_HOST_HEADER = 300;

/** The set of `host:port` authorities a listener answers; lower case, IPv6 in brackets. */
export type AllowedHosts = ReadonlySet<string>;

function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1';
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function authority(host: string, port: number): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  const name = h.includes(':') ? `[${h}]` : h;
  return SCHEME_DEFAULT_PORTS.includes(port) ? name : `${name}:${port}`;
}

/**
 * Authorities accepted by a listener bound to `listenHost:port` with extra configured `names`
 * (host names or addresses, without port). A wildcard listen address accepts only `names`.
 */
export function allowedHosts(listenHost: string, port: number, names: readonly string[] = []): AllowedHosts {
  const out = new Set<string>();
  if (!isWildcard(listenHost)) out.add(authority(listenHost, port));
  if (isLoopback(listenHost)) for (const n of LOOPBACK_HOST_NAMES) out.add(authority(n, port));
  for (const n of names) out.add(authority(n, port));
  return out;
}

/** True when the request's Host header names this listener. A missing header is refused. */
export function isAllowedHost(header: string | undefined, allowed: AllowedHosts): boolean {
  if (header === undefined || header.length === 0 || header.length > MAX_HOST_HEADER) return false;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(?::(\d{1,5}))?$/.exec(header.toLowerCase());
  if (m === null) return false;
  const name = (m[1] as string).replace(/\.$/, '');
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port === undefined || SCHEME_DEFAULT_PORTS.includes(port)) return allowed.has(name);
  return allowed.has(`${name}:${port}`);
}
