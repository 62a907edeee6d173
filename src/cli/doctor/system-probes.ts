/**
 * The real machine behind {@link PrerequisiteProbes}: the native loaders, PATH, /proc, and `nft -c`
 * (a check-only transaction on a throwaway table: the kernel validates it, nothing is installed).
 * Synchronous, each call bounded in time.
 */
import { effectiveCapabilities } from '../../privsep/drop-privileges.js';
import { accessSync, constants, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { openLibnftables } from '../../native/libnftables.js';
import { openLibconntrack } from '../../native/libnetfilter-conntrack.js';
import type { KernelFeature, PrerequisiteProbes, ProbeResult } from '../../config/mode-prerequisites.js';

/** Bound on one `nft -c` run. */
export const NFT_CHECK_TIMEOUT_MS = 5_000;
/** Where Debian installs nft and conntrack, searched after PATH (PATH under sudo/systemd may lack sbin). */
const SBIN_DIRS = ['/usr/sbin', '/sbin'];
/** Linux's default ip_unprivileged_port_start (net/ipv4/af_inet.c). */
const DEFAULT_UNPRIVILEGED_PORT_START = 1024;

function firstLine(err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n')[0] ?? '';
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Absolute path of `name` on PATH or in sbin, or undefined. */
export function findProgram(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter).filter((d) => d.startsWith('/')), ...SBIN_DIRS]) {
    const full = join(dir, name);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // next directory
    }
  }
  return undefined;
}

/** The rule text that needs `feature`, in a table only this check uses. */
function checkRuleset(feature: KernelFeature, table: string): string {
  const head = `add table ip ${table}; add chain ip ${table} p { type filter hook prerouting priority mangle; }`;
  if (feature === 'nf_tables') return head;
  if (feature === 'tproxy') return `${head}; add rule ip ${table} p meta l4proto udp tproxy to 127.0.0.1:1`;
  return `${head}; add rule ip ${table} p ct state established accept`;
}

/** Options for tests and namespaced runs. */
export interface SystemProbeOptions {
  /** Shared-object names to load (defaults: the loaders' own). */
  readonly libnftablesSoname?: string;
  readonly libnetfilterConntrackSoname?: string;
}

/** Probes of this machine (this process's network namespace and privileges). */
export function systemPrerequisiteProbes(options: SystemProbeOptions = {}): PrerequisiteProbes {
  return {
    libnftables(): ProbeResult {
      try {
        openLibnftables(...(options.libnftablesSoname !== undefined ? [options.libnftablesSoname] : [])).close();
        return { state: 'present' };
      } catch (err: unknown) {
        return { state: 'missing', detail: firstLine(err) };
      }
    },
    libnetfilterConntrack(): ProbeResult {
      try {
        openLibconntrack(...(options.libnetfilterConntrackSoname !== undefined ? [options.libnetfilterConntrackSoname] : [])).close();
        return { state: 'present' };
      } catch (err: unknown) {
        return { state: 'missing', detail: firstLine(err) };
      }
    },
    program(name): ProbeResult {
      return findProgram(name) !== undefined ? { state: 'present' } : { state: 'missing', detail: `${name} not found on PATH or in /usr/sbin` };
    },
    kernelFeature(feature): ProbeResult {
      const nft = findProgram('nft');
      if (nft === undefined) return { state: 'unknown', detail: 'nft is not installed' };
      const r = spawnSync(nft, ['-c', checkRuleset(feature, `tg_doctor_${process.pid}`)], { encoding: 'utf8', timeout: NFT_CHECK_TIMEOUT_MS });
      if (r.error !== undefined) return { state: 'unknown', detail: firstLine(r.error) };
      if (r.status === 0) return { state: 'present' };
      const msg = (r.stderr ?? '').split('\n').find((l) => l.startsWith('Error:')) ?? `nft -c exited ${r.status ?? r.signal}`;
      if (/Operation not permitted/.test(msg)) return { state: 'unknown', detail: msg };
      return { state: 'missing', detail: msg };
    },
    ipForwarding(): boolean | undefined {
      const v = readProc('/proc/sys/net/ipv4/ip_forward')?.trim();
      return v === undefined ? undefined : v !== '0';
    },
    effectiveCapabilities(): bigint | undefined {
      const hex = effectiveCapabilities();
      return hex !== undefined ? BigInt(`0x${hex}`) : undefined;
    },
    unprivilegedPortStart(): number {
      const n = Number(readProc('/proc/sys/net/ipv4/ip_unprivileged_port_start')?.trim());
      return Number.isInteger(n) && n >= 0 ? n : DEFAULT_UNPRIVILEGED_PORT_START;
    },
  };
}
