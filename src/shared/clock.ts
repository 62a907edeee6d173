/** An injectable clock: pure cores take one, adapters pass `systemClock`. */
export interface Clock {
  /** Milliseconds, monotonic within a process (for timers and lifetimes). */
  now(): number;
  /** Milliseconds since the Unix epoch (for display and audit records). */
  wallNow(): number;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  wallNow: () => Date.now(),
};

/** A manually driven clock for tests. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  wallNow(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}
