/**
 * Which talk protocol a daemon host speaks (ntalk probed first, otalk as the fallback), learned
 * from its answers. Bounded (least recently learned evicted first) with a TTL. Pure.
 */
import { VERSION_CACHE_SIZE, VERSION_CACHE_TTL_MS } from './session-constants.js';
import type { TalkProtocol } from './session-types.js';

export class VersionCache {
  readonly #entries = new Map<string, { protocol: TalkProtocol; at: number }>();
  readonly #max: number;

  constructor(max = VERSION_CACHE_SIZE) {
    this.#max = max;
  }

  get(host: string, now: number): TalkProtocol | undefined {
    const e = this.#entries.get(host);
    if (e === undefined) return undefined;
    if (now - e.at > VERSION_CACHE_TTL_MS) {
      this.#entries.delete(host);
      return undefined;
    }
    return e.protocol;
  }

  set(host: string, protocol: TalkProtocol, now: number): void {
    this.#entries.delete(host);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(host, { protocol, at: now });
  }

  forget(host: string): void {
    this.#entries.delete(host);
  }

  get size(): number {
    return this.#entries.size;
  }
}
