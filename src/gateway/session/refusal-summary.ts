/**
 * Aggregated logging of refusals under pressure: one line when an episode starts, then one summary
 * with counts per typed reason per window while refusals go on (never one line per datagram), as
 * the global new-call rate limit does. A window without refusals ends the episode. Pure: time (ms)
 * comes from the caller.
 */
export interface RefusalWindow<Code extends string> {
  /** Refusals per code in the window (codes with none are absent). */
  readonly counts: Readonly<Partial<Record<Code, number>>>;
  readonly total: number;
  readonly windowMs: number;
}

export class RefusalSummary<Code extends string> {
  readonly #windowMs: number;
  #counts = new Map<Code, number>();
  #windowStart = 0;
  #dueAt: number | undefined;

  /** `windowMs`: the summary period. */
  constructor(windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`Invalid refusal summary window: ${windowMs}`);
    this.#windowMs = windowMs;
  }

  /** Counts one refusal; true when it opens an episode (the caller logs one line then). */
  record(code: Code, now: number): boolean {
    this.#counts.set(code, (this.#counts.get(code) ?? 0) + 1);
    if (this.#dueAt !== undefined) return false;
    this.#windowStart = now;
    this.#dueAt = now + this.#windowMs;
    return true;
  }

  /** When the next summary is due (undefined: no episode open). */
  get dueAt(): number | undefined {
    return this.#dueAt;
  }

  /**
   * At or after {@link dueAt}: the window's counts (undefined when the window was quiet, which
   * closes the episode). Before it: undefined, nothing changes.
   */
  take(now: number): RefusalWindow<Code> | undefined {
    if (this.#dueAt === undefined || now < this.#dueAt) return undefined;
    const counts = Object.fromEntries(this.#counts) as Partial<Record<Code, number>>;
    let total = 0;
    for (const n of this.#counts.values()) total += n;
    this.#counts = new Map();
    if (total === 0) {
      this.#dueAt = undefined;
      return undefined;
    }
    const windowMs = now - this.#windowStart;
    this.#windowStart = now;
    this.#dueAt = now + this.#windowMs;
    return { counts, total, windowMs };
  }
}
