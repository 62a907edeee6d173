/**
 * What each gateway mode needs from the machine it runs on, checked through injected probes so
 * `talkgate gateway --check` (the doctor) and the gateway's start-up agree, and tests do not
 * depend on the host. Pure: the probes (src/cli/doctor/system-probes.ts) do the looking.
 *
 * | mode | needs |
 * |---|---|
 * | every mode | CAP_NET_BIND_SERVICE (or root) for a listening port below ip_unprivileged_port_start |
 * | transparent | `nft` (nftables), kernel nf_tables + nft_tproxy, CAP_NET_ADMIN; forwarding (warning) |
 * | pinhole, local holes | libnftables.so.1 (libnftables1; `nft` as fallback), libnetfilter_conntrack.so.3 (libnetfilter-conntrack3), kernel nf_tables + conntrack, net.ipv4.ip_forward = 1, CAP_NET_ADMIN |
 * | pinhole with [middlebox] | only the ports (the holes are opened by the remote PCP server) |
 * | any mode with [ha] | conntrackd (unless `ha.conntrackd = ""`), arping (iputils-arping: split-brain detection) |
 */
import type { GatewayConfig } from './gateway-config.js';
import type { DiagnosticSeverity } from './config-diagnostic.js';

/** Debian 12 packages that provide a prerequisite. */
export type DebianPackage = 'libnftables1' | 'libnetfilter-conntrack3' | 'nftables' | 'conntrack' | 'conntrackd' | 'iputils-arping';

/** What a prerequisite check found missing (typed; the message beside it is for people). */
export type PrerequisiteCode =
  | 'libnftables-missing'
  | 'libnftables-fallback'
  | 'nft-missing'
  | 'libnetfilter-conntrack-missing'
  | 'kernel-nf-tables-missing'
  | 'kernel-tproxy-missing'
  | 'kernel-conntrack-missing'
  | 'kernel-not-checked'
  | 'forwarding-disabled'
  | 'cap-net-admin-missing'
  | 'cap-net-bind-service-missing'
  | 'conntrackd-missing'
  | 'arping-missing';

/** One missing (error) or doubtful (warning) prerequisite. */
export interface PrerequisiteProblem {
  readonly severity: DiagnosticSeverity;
  readonly code: PrerequisiteCode;
  /** The configuration key that asks for it (`mode`, `pinhole.nft`, `ports.ntalk`). */
  readonly key: string;
  /** The Debian package to install, when a package provides it. */
  readonly package?: DebianPackage;
  readonly message: string;
}

/** A probe's answer: there, missing (with why), or not knowable here (with why). */
export type ProbeResult = { readonly state: 'present' } | { readonly state: 'missing' | 'unknown'; readonly detail: string };

/** Kernel features checked by a check-only nftables transaction. */
export type KernelFeature = 'nf_tables' | 'tproxy' | 'conntrack';

/** How the checks look at the machine. */
export interface PrerequisiteProbes {
  /** libnftables.so.1 loads and gives a context (src/native/libnftables.ts). */
  libnftables(): ProbeResult;
  /** libnetfilter_conntrack.so.3 loads and opens a handle (src/native/libnetfilter-conntrack.ts). */
  libnetfilterConntrack(): ProbeResult;
  /** An executable on PATH (or its usual sbin place). */
  program(name: 'nft' | 'conntrack' | 'conntrackd' | 'arping'): ProbeResult;
  /** The kernel accepts a rule needing `feature` (check-only transaction, nothing is installed). */
  kernelFeature(feature: KernelFeature): ProbeResult;
  /** net.ipv4.ip_forward, undefined when unreadable. */
  ipForwarding(): boolean | undefined;
  /** CapEff of this process (/proc/self/status), undefined when unreadable. */
  effectiveCapabilities(): bigint | undefined;
  /** net.ipv4.ip_unprivileged_port_start (1024 when unreadable). */
  unprivilegedPortStart(): number;
}

/** <linux/capability.h> bit numbers. */
export const CAP_NET_BIND_SERVICE = 10;
export const CAP_NET_ADMIN = 12;

function hasCap(caps: bigint | undefined, bit: number): boolean {
  // Unreadable (not Linux): assume present and let the operation itself fail.
  return caps === undefined || (caps & (1n << BigInt(bit))) !== 0n;
}

/** The listening ports a configuration binds, with the key that sets each. */
function listeningPorts(c: GatewayConfig): { key: string; port: number }[] {
  const out = [
    { key: 'ports.ntalk', port: c.ports.ntalk },
    { key: 'ports.otalk', port: c.ports.otalk },
  ];
  if (c.admin !== undefined) out.push({ key: 'admin.listen', port: c.admin.port });
  if (c.mode !== 'pinhole') out.push({ key: 'relay.ports', port: c.relay.ports.min });
  return out;
}

const KERNEL: Record<KernelFeature, { code: PrerequisiteCode; what: string }> = {
  nf_tables: { code: 'kernel-nf-tables-missing', what: 'nf_tables (nftables in the kernel: modprobe nf_tables)' },
  tproxy: { code: 'kernel-tproxy-missing', what: 'nftables tproxy (modprobe nft_tproxy nf_tproxy_ipv4)' },
  conntrack: { code: 'kernel-conntrack-missing', what: 'connection tracking (modprobe nf_conntrack)' },
};

/**
 * The prerequisites `config`'s mode lacks on the machine `probes` look at: errors stop the
 * gateway from starting, warnings do not.
 * @example checkModePrerequisites(pinholeConfig, probes) // [{ code: 'libnetfilter-conntrack-missing', package: 'libnetfilter-conntrack3', ... }]
 */
export function checkModePrerequisites(config: GatewayConfig, probes: PrerequisiteProbes): PrerequisiteProblem[] {
  const out: PrerequisiteProblem[] = [];
  const caps = probes.effectiveCapabilities();
  const unprivileged = probes.unprivilegedPortStart();
  for (const { key, port } of listeningPorts(config)) {
    if (port < unprivileged && !hasCap(caps, CAP_NET_BIND_SERVICE)) {
      out.push({
        severity: 'error',
        code: 'cap-net-bind-service-missing',
        key,
        message: `port ${port} is below ${unprivileged} (net.ipv4.ip_unprivileged_port_start): run as root or with CAP_NET_BIND_SERVICE`,
      });
    }
  }
  if (config.ha !== undefined) out.push(...haPrerequisites(config, probes));
  const localHoles = config.mode === 'pinhole' && config.middlebox === undefined;
  if (config.mode !== 'transparent' && !localHoles) return out;

  const netAdmin = hasCap(caps, CAP_NET_ADMIN);
  if (!netAdmin) {
    out.push({
      severity: 'error',
      code: 'cap-net-admin-missing',
      key: 'mode',
      message: `mode = "${config.mode}" programs nftables${localHoles ? ' and reads conntrack' : ' and opens transparent sockets'}: run as root or with CAP_NET_ADMIN`,
    });
  }
  const nft = probes.program('nft');
  if (config.mode === 'transparent') {
    if (nft.state !== 'present') out.push(missingNft('mode', 'mode = "transparent" installs its interception rules with nft', nft));
  } else if (config.mode === 'pinhole') {
    const how = config.pinhole?.nft ?? 'lib';
    if (how === 'exec') {
      if (nft.state !== 'present') out.push(missingNft('pinhole.nft', 'pinhole.nft = "exec" runs nft for every batch', nft));
    } else {
      const lib = probes.libnftables();
      if (lib.state !== 'present' && nft.state === 'present') {
        out.push({
          severity: 'warning',
          code: 'libnftables-fallback',
          key: 'pinhole.nft',
          package: 'libnftables1',
          message: `libnftables cannot be loaded (${lib.detail}): falling back to running nft per batch; install libnftables1`,
        });
      } else if (lib.state !== 'present') {
        out.push({
          severity: 'error',
          code: 'libnftables-missing',
          key: 'pinhole.nft',
          package: 'libnftables1',
          message: `libnftables cannot be loaded (${lib.detail}) and nft is not installed either: install libnftables1 (and nftables)`,
        });
      }
    }
    const ct = probes.libnetfilterConntrack();
    if (ct.state !== 'present') {
      out.push({
        severity: 'error',
        code: 'libnetfilter-conntrack-missing',
        key: 'mode',
        package: 'libnetfilter-conntrack3',
        message: `mode = "pinhole" lists each call's flows to close its hole when the call ends, but libnetfilter_conntrack cannot be loaded (${ct.detail}): install libnetfilter-conntrack3`,
      });
    }
  }
  const features: KernelFeature[] = config.mode === 'transparent' ? ['nf_tables', 'tproxy'] : ['nf_tables', 'conntrack'];
  const unknown: string[] = [];
  // Without CAP_NET_ADMIN the kernel refuses even a check-only transaction: that error is reported above.
  for (const f of netAdmin ? features : []) {
    const r = probes.kernelFeature(f);
    if (r.state === 'missing') out.push({ severity: 'error', code: KERNEL[f].code, key: 'mode', message: `the kernel lacks ${KERNEL[f].what}: ${r.detail}` });
    else if (r.state === 'unknown') unknown.push(`${f} (${r.detail})`);
  }
  if (unknown.length > 0) {
    out.push({ severity: 'warning', code: 'kernel-not-checked', key: 'mode', message: `could not check the kernel for ${unknown.join(', ')}` });
  }
  const forwarding = probes.ipForwarding();
  if (forwarding === false) {
    out.push(
      localHoles
        ? { severity: 'error', code: 'forwarding-disabled', key: 'mode', message: 'net.ipv4.ip_forward is 0: the holes open forwarded traffic, which this machine does not forward (sysctl -w net.ipv4.ip_forward=1)' }
        : { severity: 'warning', code: 'forwarding-disabled', key: 'mode', message: 'net.ipv4.ip_forward is 0: talk is intercepted, but nothing else crosses this firewall (sysctl -w net.ipv4.ip_forward=1)' },
    );
  }
  return out;
}

/** [ha]: `talkgate ha notify` drives conntrackd; the master looks for a second master with arping. */
function haPrerequisites(config: GatewayConfig, probes: PrerequisiteProbes): PrerequisiteProblem[] {
  const out: PrerequisiteProblem[] = [];
  if (config.ha?.conntrackd !== undefined && probes.program('conntrackd').state !== 'present') {
    out.push({
      severity: 'error',
      code: 'conntrackd-missing',
      key: 'ha.conntrackd',
      package: 'conntrackd',
      message: '[ha] replicates the conversations with conntrackd, which is not installed: install conntrackd (or set ha.conntrackd = "" to run without)',
    });
  }
  if (probes.program('arping').state !== 'present') {
    out.push({
      severity: 'error',
      code: 'arping-missing',
      key: 'ha',
      package: 'iputils-arping',
      message: '[ha] detects a split brain (another node answering for the virtual addresses) with arping, which is not installed: install iputils-arping',
    });
  }
  return out;
}

function missingNft(key: string, why: string, r: ProbeResult): PrerequisiteProblem {
  const detail = r.state === 'present' ? '' : ` (${r.detail})`;
  return { severity: 'error', code: 'nft-missing', key, package: 'nftables', message: `${why}, but nft is not installed${detail}: install nftables` };
}
