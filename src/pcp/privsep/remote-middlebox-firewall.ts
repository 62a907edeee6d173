/** The worker's middlebox firewall: every operation goes to the privileged process (which checks it). */
import type { NftResult } from '../../firewall/nft-runner.js';
import type { PrivilegedChannel } from '../../privsep/privileged-channel.js';
import type { FirewallOp } from '../middlebox-core.js';
import type { MiddleboxFirewall } from '../middlebox-firewall.js';
import { TalkError } from '../../shared/talk-error.js';

export class RemoteMiddleboxFirewall implements MiddleboxFirewall {
  readonly #channel: PrivilegedChannel;

  constructor(channel: PrivilegedChannel) {
    this.#channel = channel;
  }

  async replaceTable(): Promise<void> {
    const r = await this.#channel.request('replaceTable');
    if (!r.ok) throw new TalkError('PRIVSEP_REFUSED', `privileged side: ${r.code}: ${r.message}`);
  }

  async apply(ops: readonly FirewallOp[]): Promise<NftResult> {
    const r = await this.#channel.request('apply', { ops });
    // A refused mapping is a failed transaction to the server: the client gets an error answer.
    return r.ok ? (r.result as NftResult) : { ok: false, failure: 'permission', message: `${r.code}: ${r.message}` };
  }

  async tableLost(): Promise<boolean> {
    const r = await this.#channel.request('tableLost');
    return r.ok && r.result === true;
  }

  async removeTable(): Promise<NftResult> {
    const r = await this.#channel.request('removeTable');
    return r.ok ? (r.result as NftResult) : { ok: false, failure: 'other', message: `${r.code}: ${r.message}` };
  }
}
