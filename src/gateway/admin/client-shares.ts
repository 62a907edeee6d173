/**
 * Per-client connection shares of the admin listener (issue 18: 64 idle connections from one
 * client filled `maxConnections` and locked monitoring out). Pure bookkeeping: the listener asks
 * before keeping a socket and tells when it closes.
 */

export class ClientShares {
  readonly #perClient: number;
  readonly #total: number;
  readonly #open = new Map<string, number>();
  #sum = 0;

  /** `perClient` connections per remote address, `total` over all of them. */
  constructor(perClient: number, total: number) {
    if (!(perClient >= 1 && total >= perClient)) throw new RangeError(`Invalid shares: ${perClient} per client, ${total} in all`);
    this.#perClient = perClient;
    this.#total = total;
  }

  /** Takes a slot for `client`; false (nothing taken) when its share or the total is used up. */
  acquire(client: string): boolean {
    const n = this.#open.get(client) ?? 0;
    if (n >= this.#perClient || this.#sum >= this.#total) return false;
    this.#open.set(client, n + 1);
    this.#sum++;
    return true;
  }

  /** Gives back a slot taken by `acquire`. */
  release(client: string): void {
    const n = this.#open.get(client) ?? 0;
    if (n <= 0) return;
    if (n === 1) this.#open.delete(client);
    else this.#open.set(client, n - 1);
    this.#sum--;
  }

  /** Open connections of `client` (all clients when omitted). */
  open(client?: string): number {
    return client === undefined ? this.#sum : (this.#open.get(client) ?? 0);
  }
}
