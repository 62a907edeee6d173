/**
 * Split brain (both nodes master) seen from the master (pure): in VRRP only the master owns the
 * virtual address, so while this node is master another host answering ARP for it (`arping -D`,
 * duplicate address detection) is a second master. Reports the edges only, so the log gets one
 * line when it starts and one when it ends, whatever the probe period.
 */
export type SplitBrainEvent = 'detected' | 'resolved';

export class SplitBrainDetector {
  #split = false;

  /** One probe's answer: did another host answer for the virtual address? */
  observe(otherAnswered: boolean): SplitBrainEvent | undefined {
    if (otherAnswered === this.#split) return undefined;
    this.#split = otherAnswered;
    return otherAnswered ? 'detected' : 'resolved';
  }

  /** This node is no longer master: whatever it saw is over. */
  reset(): SplitBrainEvent | undefined {
    return this.observe(false);
  }

  get split(): boolean {
    return this.#split;
  }
}
