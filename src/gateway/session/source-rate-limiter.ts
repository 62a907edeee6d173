/**
 * Per-source token buckets for control requests (policy "per-source rate limits").
 * Pure (time comes from the caller), bounded: at most `maxSources` buckets, the least recently
 * used one is evicted first (a Map keeps insertion order; a touched bucket is re-inserted).
 */

/** Bound on tracked sources (a flood of forged sources cannot grow memory past this). */
export const MAX_RATE_SOURCES = 4096;

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #buckets = new Map<string, Bucket>();

  /** `ratePerSecond` sustained, `burst` tokens at most. */
  constructor(opts: { ratePerSecond: number; burst: number; maxSources?: number }) {
    this.#rate = opts.ratePerSecond;
    this.#burst = opts.burst;
    this.#maxSources = opts.maxSources ?? MAX_RATE_SOURCES;
  }

  /** Takes one token for `source` at time `now` (ms); false when the source is over its rate. */
  take(source: string, now: number): boolean {
    let b = this.#buckets.get(source);
    if (b === undefined) {
      b = { tokens: this.#burst, at: now };
      if (this.#buckets.size >= this.#maxSources) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
    } else {
      this.#buckets.delete(source);
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
      b.at = now;
    }
    this.#buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
