/**
 * The caller's host name for the announcement, as netkit talkd: the forward-confirmed reverse
 * name of the packet source (getnameinfo, then getaddrinfo must list the source again), else the
 * IP address. Uses the system resolver (so /etc/hosts counts), bounded in time
 * (CALLER_DNS_TIMEOUT_MS), in concurrency and with a small cache.
 */
import { lookup, lookupService } from 'node:dns/promises';
import { isPrintableName } from '../shared/sanitize.js';
import { CALLER_DNS_TIMEOUT_MS, MAX_RATE_SOURCES } from './daemon-limits.js';
import { MAX_LIFE_MS } from '../protocol/constants.js';

/** At most this many resolutions in flight (each holds a libuv threadpool thread). */
const MAX_RESOLVING = 2;
/** Longest host name kept (RFC 1035). */
const MAX_HOST_NAME = 253;

export type ResolveCallerHost = (address: string) => Promise<string>;

async function fcrdns(address: string): Promise<string> {
  const { hostname } = await lookupService(address, 0);
  if (hostname === address || hostname.length > MAX_HOST_NAME || !isPrintableName(hostname)) return address;
  const forward = await lookup(hostname, { all: true, family: 4 });
  return forward.some((a) => a.address === address) ? hostname : address;
}

export function callerHostResolver(timeoutMs = CALLER_DNS_TIMEOUT_MS): ResolveCallerHost {
  const cache = new Map<string, { host: string; at: number }>();
  let resolving = 0;
  return async (address) => {
    const hit = cache.get(address);
    if (hit !== undefined && Date.now() - hit.at < MAX_LIFE_MS) return hit.host;
    if (resolving >= MAX_RESOLVING) return address;
    resolving++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const host = await Promise.race([
        fcrdns(address).catch(() => address),
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve(address), timeoutMs);
        }),
      ]);
      if (cache.size >= MAX_RATE_SOURCES) cache.clear();
      cache.set(address, { host, at: Date.now() });
      return host;
    } finally {
      clearTimeout(timer);
      resolving--;
    }
  };
}
