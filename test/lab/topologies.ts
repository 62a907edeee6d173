/**
 * Standard lab topologies.
 *
 * threeHosts(prefix):
 *   in 10.1.0.2/24 ──"inside"── fw 10.1.0.1 | 198.51.100.1 ──"outside"── out 198.51.100.2/24
 *                                                                     └── out2 198.51.100.3/24 (optional)
 * fw forwards (ip_forward=1) with an nftables table `inet ${prefix}_fw`: policy accept ('route') or
 * drop ('drop'; a gateway under test must then relay). With out2 the outside segment is a bridge
 * named "outside" in fw's namespace. Interface names inside each host are the segment names.
 */
import { Lab, type LabSpec } from './lab.js';

export const IN_ADDR = '10.1.0.2';
export const FW_IN_ADDR = '10.1.0.1';
export const FW_OUT_ADDR = '198.51.100.1';
export const OUT_ADDR = '198.51.100.2';
export const OUT2_ADDR = '198.51.100.3';
/** Interface names (= segment names) in every host of threeHosts. */
export const INSIDE_IF = 'inside';
export const OUTSIDE_IF = 'outside';

export type FwMode = 'route' | 'drop';

export interface ThreeHostsOptions {
  /** Add out2 (198.51.100.3) on the outside segment. */
  readonly out2?: boolean;
  /** fw forwarding: 'route' (open router, default) or 'drop'. */
  readonly fw?: FwMode;
  readonly verbose?: boolean;
  readonly users?: readonly string[];
}

export function threeHostsSpec(prefix: string, opts: ThreeHostsOptions = {}): LabSpec {
  const outside = [
    { host: 'fw', addr: `${FW_OUT_ADDR}/24` },
    { host: 'out', addr: `${OUT_ADDR}/24` },
    ...(opts.out2 ? [{ host: 'out2', addr: `${OUT2_ADDR}/24` }] : []),
  ];
  return {
    prefix,
    hosts: ['in', 'fw', 'out', ...(opts.out2 ? ['out2'] : [])],
    segments: [
      { name: INSIDE_IF, members: [{ host: 'in', addr: `${IN_ADDR}/24` }, { host: 'fw', addr: `${FW_IN_ADDR}/24` }] },
      { name: OUTSIDE_IF, members: outside },
    ],
    routes: [
      { host: 'in', to: 'default', via: FW_IN_ADDR },
      { host: 'out', to: 'default', via: FW_OUT_ADDR },
      ...(opts.out2 ? [{ host: 'out2', to: 'default', via: FW_OUT_ADDR }] : []),
    ],
    forwarding: ['fw'],
    ...(opts.verbose !== undefined ? { verbose: opts.verbose } : {}),
    ...(opts.users !== undefined ? { users: opts.users } : {}),
  };
}

/** nft text of fw's forward policy for a mode (table `inet ${prefix}_fw`). */
export function fwRuleset(prefix: string, mode: FwMode): string {
  return [
    `table inet ${prefix}_fw {`,
    '  chain forward {',
    `    type filter hook forward priority 0; policy ${mode === 'route' ? 'accept' : 'drop'};`,
    '    counter',
    '  }',
    '}',
  ].join('\n') + '\n';
}

/** Builds threeHosts and applies fw's forwarding mode. */
export async function threeHosts(prefix: string, opts: ThreeHostsOptions = {}): Promise<Lab> {
  const lab = await Lab.create(threeHostsSpec(prefix, opts));
  try {
    await lab.nft('fw', fwRuleset(prefix, opts.fw ?? 'route'));
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

/** Replaces fw's forwarding mode on a running threeHosts lab. */
export async function setFwMode(lab: Lab, mode: FwMode): Promise<void> {
  const p = lab.spec.prefix;
  await lab.exec('fw', ['nft', 'delete', 'table', 'inet', `${p}_fw`], { check: false });
  await lab.nft('fw', fwRuleset(p, mode));
}
