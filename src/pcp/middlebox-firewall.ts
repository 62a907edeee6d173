/**
 * The middlebox's firewall seam: everything the PCP server asks of nftables, as mapping
 * operations (never raw nftables batches), so that a privileged process can check each mapping
 * against the configuration before it is rendered into our own table. {@link LocalMiddleboxFirewall}
 * renders and applies them in this process; src/pcp/privsep/ carries them across privilege
 * separation.
 */
import { renderCloseHole, renderOpenHole } from '../firewall/nft-hole.js';
import { nftExistingNames, renderRemoveTable, renderReplaceTable, type NftBatch, type NftCommand, type NftTableSpec } from '../firewall/nft-ruleset.js';
import type { NftBackend, NftResult } from '../firewall/nft-runner.js';
import type { FirewallOp } from './middlebox-core.js';
import { TalkError } from '../shared/talk-error.js';

/** What the local firewall needs from nftables: NftRunner (`nft -j` per batch) or NftLibraryRunner (in process). */
export type NftPort = Pick<NftBackend, 'apply' | 'listTable'>;

export interface MiddleboxFirewall {
  /** Replaces our table (or our chains and sets in the administrator's); throws on failure. */
  replaceTable(): Promise<void>;
  /** Applies the operations atomically (one transaction). */
  apply(ops: readonly FirewallOp[]): Promise<NftResult>;
  /** True when our table (not just one element) is gone. */
  tableLost(): Promise<boolean>;
  /** Removes all of our rules. */
  removeTable(): Promise<NftResult>;
}

export function renderOps(spec: NftTableSpec, ops: readonly FirewallOp[]): NftBatch {
  const cmds: NftCommand[] = [];
  for (const op of ops) {
    if (op.kind === 'open') cmds.push(...renderOpenHole(spec, op.hole).nftables);
    else if (op.kind === 'close') cmds.push(...renderCloseHole(spec, op.hole).nftables);
    else cmds.push(...renderCloseHole(spec, op.old).nftables, ...renderOpenHole(spec, op.hole).nftables);
  }
  return { nftables: cmds };
}

export class LocalMiddleboxFirewall implements MiddleboxFirewall {
  readonly #spec: NftTableSpec;
  readonly #nft: NftPort;

  constructor(spec: NftTableSpec, nft: NftPort) {
    this.#spec = spec;
    this.#nft = nft;
  }

  async replaceTable(): Promise<void> {
    const spec = this.#spec;
    let existing = new Set<string>();
    if (spec.deployment === 'admin') {
      const l = await this.#nft.listTable(spec.family, spec.table);
      if (!l.ok) throw new TalkError('NFT_TABLE_INSTALL', `nft list table ${spec.table}: ${l.failure}: ${l.message}`);
      existing = nftExistingNames(spec, l.stdout);
    }
    const r = await this.#nft.apply(renderReplaceTable(spec, existing));
    if (!r.ok) throw new TalkError('NFT_TABLE_INSTALL', `nft table replace failed (${r.failure}): ${r.message}`);
  }

  apply(ops: readonly FirewallOp[]): Promise<NftResult> {
    return this.#nft.apply(renderOps(this.#spec, ops));
  }

  async tableLost(): Promise<boolean> {
    const l = await this.#nft.listTable(this.#spec.family, this.#spec.table);
    return !l.ok && l.failure === 'no-such-element';
  }

  removeTable(): Promise<NftResult> {
    return this.#nft.apply(renderRemoveTable(this.#spec));
  }
}
