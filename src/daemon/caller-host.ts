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

/** The two resolver calls FCrDNS needs (the system resolver by default; tests pass their own). */
export interface HostResolver {
  /** getnameinfo(): the name of an address (or the address itself when it has none). */
  reverse(address: string): Promise<string>;
  /** getaddrinfo(AF_INET): every IPv4 address of a name. */
  forward(name: string): Promise<string[]>;
}

export const systemHostResolver: HostResolver = {
  reverse: async (address) => (await lookupService(address, 0)).hostname,
  forward: async (name) => (await lookup(name, { all: true, family: 4 })).map((a) => a.address),
};

async function fcrdns(address: string, resolver: HostResolver): Promise<string> {
  const hostname = await resolver.reverse(address);
  if (hostname === address || hostname.length > MAX_HOST_NAME || !isPrintableName(hostname)) return address;
  const forward = await resolver.forward(hostname);
  return forward.includes(address) ? hostname : address;
}

export function callerHostResolver(timeoutMs = CALLER_DNS_TIMEOUT_MS, resolver: HostResolver = systemHostResolver): ResolveCallerHost {
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
        fcrdns(address, resolver).catch(() => address),
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
