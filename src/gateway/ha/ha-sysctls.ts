/**
 * Adapter: the kernel settings one node of an HA pair needs in its network namespace (docs/ha.md),
 * set at start by the privileged process; a failure is one clear error naming the sysctl.
 * - net.ipv4.ip_nonlocal_bind = 1: the backup binds the virtual addresses before it owns them,
 *   so becoming master costs no socket set-up.
 * - net.netfilter.nf_conntrack_tcp_loose = 0 (local holes): a mid-stream packet of a flow that
 *   conntrackd has not committed yet is invalid (and dropped), instead of picked up as a new entry
 *   without its NAT, which the commit then cannot replace (keepalived issues #2254, #2414).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface HaSysctl {
  readonly name: string;
  readonly value: string;
  readonly why: string;
}

export function haSysctls(localHoles: boolean): HaSysctl[] {
  return [
    { name: 'net.ipv4.ip_nonlocal_bind', value: '1', why: 'to bind the virtual addresses before this node owns them' },
    ...(localHoles
      ? [{ name: 'net.netfilter.nf_conntrack_tcp_loose', value: '0', why: 'so that a flow not yet committed by conntrackd is not picked up without its NAT' }]
      : []),
  ];
}

/** Sets each sysctl that differs; returns the names it changed. Throws an Error naming the sysctl. */
export function applyHaSysctls(sysctls: readonly HaSysctl[]): string[] {
  const changed: string[] = [];
  for (const s of sysctls) {
    const file = `/proc/sys/${s.name.replaceAll('.', '/')}`;
    try {
      if (readFileSync(file, 'utf8').trim() === s.value) continue;
      writeFileSync(file, s.value);
      changed.push(`${s.name}=${s.value}`);
    } catch (err: unknown) {
      throw new Error(`[ha] needs ${s.name} = ${s.value} ${s.why}, and it cannot be set (${(err as Error).message}): run as root, or set it with sysctl -w ${s.name}=${s.value}`, { cause: err });
    }
  }
  return changed;
}
