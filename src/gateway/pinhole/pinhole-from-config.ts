/**
 * Builds the pinhole data path of `mode = "pinhole"` from the gateway configuration: the nftables
 * table spec (own firewall: table `[pinhole] table`, forward policy drop, masquerade of the inside
 * networks; admin's table: our prefixed chains/sets only) and the hole settings.
 */
import type { PinholeModeConfig } from '../../config/gateway-config.js';
import { openNftBackend } from '../../firewall/nft-library-runner.js';
import type { NftBackend } from '../../firewall/nft-runner.js';
import type { NftTableSpec } from '../../firewall/nft-ruleset.js';
import type { Clock } from '../../shared/clock.js';
import { PinholeDataPath, type PinholeEvents, type PinholeLogger, type PinholeSettings } from './pinhole-data-path.js';

/** The pinhole settings a configuration implies (pure). */
export function pinholeSettings(c: PinholeModeConfig): PinholeSettings {
  const p = c.pinhole;
  const table: NftTableSpec = {
    family: 'ip',
    table: p.table,
    deployment: p.ownFirewall ? 'own' : 'admin',
    prefix: p.ownFirewall ? '' : p.prefix,
    outsideInterface: c.outside.interface ?? '',
    insideInterface: c.inside.interface ?? '',
    insideNetworks: p.ownFirewall ? c.inside.networks.map(cidrText) : [],
    outbound: p.outbound,
    ...(c.ha !== undefined ? { haOutsideAddress: c.outside.address } : {}),
  };
  return { table, ports: p.ports, holeTimeoutSeconds: p.holeTimeoutSeconds, maxHoles: c.limits.maxCalls };
}

/** `network/prefix` with the host bits cleared (nft refuses a prefix with host bits set). */
export function cidrText(n: { readonly network: number; readonly prefix: number }): string {
  const a = n.network >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${n.prefix}`;
}

/**
 * The data path with the backends `[pinhole] nft` names: "lib" (libnftables and
 * libnetfilter_conntrack in this process and so in its network namespace; exec when a library
 * cannot be loaded, logged) or "exec" (`nft -j` per transaction, `conntrack -L` per poll).
 */
export function createPinholeDataPath(o: { config: PinholeModeConfig; clock: Clock; logger: PinholeLogger; events: PinholeEvents; runner?: NftBackend }): PinholeDataPath {
  const how = o.config.pinhole.nft;
  let runner = o.runner;
  if (runner === undefined) {
    const choice = openNftBackend(how);
    if (choice.fallback !== undefined) o.logger.warn({ nft: 'exec', reason: choice.fallback }, 'pinhole: libnftables unavailable, running nft -j per transaction');
    runner = choice.backend;
  }
  o.logger.info({ nft: runner.kind }, 'pinhole: nftables backend');
  return new PinholeDataPath({ settings: pinholeSettings(o.config), runner, flows: how, clock: o.clock, logger: o.logger, events: o.events });
}
