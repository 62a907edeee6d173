/**
 * A global bound on new-call requests (issue 4 hardening): one token bucket per side, shared by
 * every source. Forged ANNOUNCEs from many spoofed sources each pass the per-source limiter
 * (the per-source RateLimiter); each would still cost a call id, audit lines (fsynced), a resolve
 * and maybe a relay listener. This caps that work per side, whatever the sources. One bucket per
 * side so a flood arriving on the outside cannot starve the inside users' outbound calls.
 * Pure: time (ms) comes from the caller.
 */
import type { Side } from './session-types.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class NewCallRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<Side, Bucket>();

  /** `ratePerSecond` new calls sustained per side, `burst` at most at once. */
  constructor(opts: { ratePerSecond: number; burst: number }) {
    if (!(opts.ratePerSecond > 0) || !(opts.burst >= 1)) {
      throw new RangeError(`Invalid new-call rate: ${opts.ratePerSecond}/s, burst ${opts.burst}`);
    }
    this.#rate = opts.ratePerSecond;
    this.#burst = opts.burst;
  }

  /** Takes one token for a new call arriving on `side` at `now` (ms); false when over the bound. */
  take(side: Side, now: number): boolean {
    let b = this.#buckets.get(side);
    if (b === undefined) {
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(side, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
