/**
 * Whether this kernel offers an nftables flowtable (the software fast path, `flow add @ft`;
 * nft(8) "FLOWTABLES", kernel module nf_flow_table), asked once at start (issue 17). Pure: the
 * probe batch and the reading of its result; the pinhole data path applies it through its runner.
 *
 * The probe is one atomic batch that adds a throwaway table holding a flowtable on the gateway's
 * two interfaces and deletes it again: it either fails as a whole (nothing created) or leaves
 * nothing behind. A kernel without flowtable support answers "No such file or directory"
 * (nft 1.0.6 on this project's CI kernel), which the runner classifies as `no-such-element`.
 */
import type { NftResult } from './nft-runner.js';
import { flowtableDevices, type NftBatch, type NftTableSpec } from './nft-ruleset.js';

/** Suffix of the throwaway probe table's name (nft identifiers: letters, digits, `_`, `.`, `/`). */
export const FLOWTABLE_PROBE_TABLE_SUFFIX = '_ftprobe';

export type FlowtableSupport =
  | { readonly available: true }
  | { readonly available: false; readonly reason: 'kernel-lacks-flowtable' | 'probe-failed'; readonly message: string };

/** The probe batch for `spec` (its family, table name and interfaces). */
export function renderFlowtableProbe(spec: NftTableSpec): NftBatch {
  const table = { family: spec.family, name: `${spec.table}${FLOWTABLE_PROBE_TABLE_SUFFIX}` };
  return {
    nftables: [
      { add: { table } },
      { add: { flowtable: { family: spec.family, table: table.name, name: 'probe', hook: 'ingress', prio: 0, dev: flowtableDevices(spec) } } },
      { delete: { table } },
    ],
  };
}

/** Reads the probe's result. */
export function flowtableSupport(result: NftResult): FlowtableSupport {
  if (result.ok) return { available: true };
  if (result.failure === 'no-such-element') {
    return { available: false, reason: 'kernel-lacks-flowtable', message: 'the kernel has no nftables flowtable (nf_flow_table)' };
  }
  return { available: false, reason: 'probe-failed', message: `flowtable probe failed: ${result.failure}: ${result.message}` };
}

/** What {@link withFlowtableIfAvailable} needs: the runner's apply and a logger. */
export interface FlowtableProbeDeps {
  apply(batch: NftBatch): Promise<NftResult>;
  log: { info(obj: object, msg?: string): void };
}

/**
 * Own deployment: probes once and returns `spec` with the flowtable when the kernel offers one
 * (one info line either way: the degrade is a logged notice, never an error). Admin deployment:
 * `spec` unchanged (the administrator's table is his to accelerate).
 */
export async function withFlowtableIfAvailable(spec: NftTableSpec, deps: FlowtableProbeDeps): Promise<NftTableSpec> {
  if (spec.deployment !== 'own') return spec;
  const support = flowtableSupport(await deps.apply(renderFlowtableProbe(spec)));
  if (support.available) {
    deps.log.info({ table: spec.table }, 'pinhole: established call flows offloaded to an nftables flowtable');
    return { ...spec, flowtable: true };
  }
  deps.log.info({ table: spec.table, reason: support.reason, detail: support.message }, 'pinhole: no flowtable fast path, forwarding by the rules alone');
  return spec;
}
