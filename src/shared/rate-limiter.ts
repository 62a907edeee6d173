/**
 * Per-key token buckets (pure; time from the injected Clock). Each key may spend `burst` tokens
 * at once and regains `ratePerSecond` tokens per second. The table holds at most `maxKeys`
 * buckets; when full, the least recently used bucket is evicted (a full bucket is equivalent to
 * no bucket, so eviction only ever forgives).
 */
import type { Clock } from './clock.js';

export interface RateLimiterOptions {
  readonly clock: Clock;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxKeys: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  readonly #clock: Clock;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  /** Map iteration order = least recently used first. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1) || !(options.maxKeys >= 1)) {
      throw new RangeError(`Invalid rate limiter options: rate ${options.ratePerSecond}, burst ${options.burst}`);
    }
    this.#clock = options.clock;
    this.#rate = options.ratePerSecond;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys;
  }

  /** Takes one token for `key`; false when the key is over its rate. */
  allow(key: string): boolean {
    const now = this.#clock.now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
      bucket = { tokens: this.#burst, updatedAt: now };
    } else {
      this.#buckets.delete(key);
      const elapsed = Math.max(0, now - bucket.updatedAt);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (elapsed * this.#rate) / 1000);
      bucket.updatedAt = now;
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Number of tracked keys (bounded by maxKeys). */
  get size(): number {
    return this.#buckets.size;
  }
}
