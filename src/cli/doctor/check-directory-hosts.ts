/**
 * A `[directory]` entry names `user@host`; the gateway must be able to turn the host into an
 * address when a call comes for it. Hosts in `inside.hosts`/`outside.hosts` or written as an
 * address are fine; any other is looked up, in parallel, each lookup bounded in time and their
 * number bounded. A host that does not resolve is a warning (DNS may be down right now).
 */
import { isIPv4 } from '../../protocol/wire.js';
import type { GatewayConfig } from '../../config/gateway-config.js';
import type { DoctorProbes } from './doctor-probes.js';
import type { DoctorDiagnostic } from './doctor-diagnostic.js';

/** Bound on one lookup (a resolver answers in well under a second; resolv.conf's default timeout is 5 s). */
export const HOST_LOOKUP_TIMEOUT_MS = 2_000;
/** Bound on distinct hosts looked up in one check. */
export const MAX_HOST_LOOKUPS = 32;

export async function checkDirectoryHosts(c: GatewayConfig, probes: Pick<DoctorProbes, 'resolve'>): Promise<DoctorDiagnostic[]> {
  const byHost = new Map<string, string[]>();
  for (const [login, target] of c.directory) {
    const h = target.host;
    if (isIPv4(h) || c.inside.hosts.has(h) || c.outside.hosts.has(h)) continue;
    byHost.set(h, [...(byHost.get(h) ?? []), login]);
  }
  const hosts = [...byHost.keys()];
  const checked = hosts.slice(0, MAX_HOST_LOOKUPS);
  const outcomes = await Promise.all(checked.map((h) => probes.resolve(h, HOST_LOOKUP_TIMEOUT_MS)));
  const out: DoctorDiagnostic[] = [];
  checked.forEach((h, i) => {
    const outcome = outcomes[i];
    if (outcome === 'resolved') return;
    const why = outcome === 'timeout' ? `no answer within ${HOST_LOOKUP_TIMEOUT_MS} ms` : 'the resolver does not know it';
    for (const login of byHost.get(h) ?? []) {
      out.push({
        severity: 'warning',
        code: 'host-unresolvable',
        key: `directory.${login}`,
        message: `host ${h} is not in inside.hosts or outside.hosts and does not resolve (${why}): calls for ${login} will fail`,
      });
    }
  });
  if (hosts.length > checked.length) {
    out.push({ severity: 'warning', code: 'hosts-not-checked', key: 'directory', message: `${hosts.length - checked.length} more hosts not looked up (bound ${MAX_HOST_LOOKUPS})` });
  }
  return out;
}
