/**
 * The last hour of the gateway for the admin page's charts (issue 16): one sample every
 * HISTORY_INTERVAL_MS of live calls, refusals in the interval and relayed bytes per second each
 * way, from monotonic totals. Pure and bounded (HISTORY_SAMPLES).
 */

/** Sampling interval (ms). */
export const HISTORY_INTERVAL_MS = 10_000;
/** Samples kept: one hour at HISTORY_INTERVAL_MS. */
export const HISTORY_SAMPLES = 360;

export interface HistoryTotals {
  /** Epoch ms of the sample. */
  readonly t: number;
  readonly liveCalls: number;
  /** Monotonic totals since start. */
  readonly refusedTotal: number;
  readonly bytesInTotal: number;
  readonly bytesOutTotal: number;
}

/** Column arrays, as uPlot takes them: `t` in epoch seconds. */
export interface HistorySeries {
  readonly t: number[];
  readonly calls: number[];
  readonly refusals: number[];
  readonly bytesInPerSecond: number[];
  readonly bytesOutPerSecond: number[];
}

export class StatusHistory {
  readonly #capacity: number;
  readonly #samples: Array<{ t: number; calls: number; refusals: number; bin: number; bout: number }> = [];
  #last: HistoryTotals | undefined;

  constructor(capacity = HISTORY_SAMPLES) {
    this.#capacity = capacity;
  }

  /** Adds one sample; the first only sets the baseline of the totals. */
  record(now: HistoryTotals): void {
    const prev = this.#last;
    this.#last = now;
    if (prev === undefined) return;
    const dt = Math.max(0.001, (now.t - prev.t) / 1000);
    // A total that went down (a restart of its source) counts from zero again.
    const delta = (a: number, b: number): number => (b >= a ? b - a : b);
    this.#samples.push({
      t: Math.round(now.t / 1000),
      calls: now.liveCalls,
      refusals: delta(prev.refusedTotal, now.refusedTotal),
      bin: delta(prev.bytesInTotal, now.bytesInTotal) / dt,
      bout: delta(prev.bytesOutTotal, now.bytesOutTotal) / dt,
    });
    if (this.#samples.length > this.#capacity) this.#samples.shift();
  }

  series(): HistorySeries {
    const s = this.#samples;
    return {
      t: s.map((x) => x.t),
      calls: s.map((x) => x.calls),
      refusals: s.map((x) => x.refusals),
      bytesInPerSecond: s.map((x) => Math.round(x.bin)),
      bytesOutPerSecond: s.map((x) => Math.round(x.bout)),
    };
  }
}
