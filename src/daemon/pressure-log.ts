/**
 * Aggregated logging of refusals under pressure (issue 18): a flood must not become one log line
 * per datagram. Pure (time from the Clock). A window opens with the first noted event and lasts
 * `intervalMs`; within it the first event of each code is logged in full by the caller (note()
 * answers true), every other one is only counted. When the window is over, takeDue() hands out
 * one summary: counts per code, the number of distinct sources (tracked up to a bound) and a
 * small sample of them, and the first and last request ids it covers. Memory is bounded by
 * `maxTrackedSources`, whatever the flood.
 */
import type { Clock } from '../shared/clock.js';

/** What was refused or dropped. */
export type PressureCode = 'malformed' | 'table-full' | 'share-replaced';

export interface PressureSummary {
  /** How long the window lasted (ms). */
  readonly windowMs: number;
  /** Events per code in the window (the ones logged in full included). */
  readonly counts: Readonly<Partial<Record<PressureCode, number>>>;
  /** Distinct sources seen, counted up to maxTrackedSources. */
  readonly sources: number;
  /** True when more distinct sources came than were tracked (`sources` is then a lower bound). */
  readonly sourcesCapped: boolean;
  /** The first distinct sources, at most maxSampledSources. Unsanitised: the caller sanitises. */
  readonly sampled: readonly string[];
  readonly firstReqId: string;
  readonly lastReqId: string;
}

export interface PressureLogOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly maxSampledSources: number;
  readonly maxTrackedSources: number;
}

interface Window {
  readonly openedAt: number;
  readonly counts: Partial<Record<PressureCode, number>>;
  readonly sources: Set<string>;
  capped: boolean;
  readonly sampled: string[];
  readonly firstReqId: string;
  lastReqId: string;
  /** Events beyond the first of each code (what only the summary reports). */
  suppressed: number;
}

export class PressureLog {
  readonly #options: PressureLogOptions;
  #window: Window | undefined;

  constructor(options: PressureLogOptions) {
    if (!(options.intervalMs > 0) || !(options.maxSampledSources >= 0) || !(options.maxTrackedSources >= 1)) {
      throw new RangeError(`Invalid pressure log options: interval ${options.intervalMs} ms`);
    }
    this.#options = options;
  }

  /** Clock.now() at which the open window's summary is due; undefined when no window is open. */
  get dueAt(): number | undefined {
    return this.#window === undefined ? undefined : this.#window.openedAt + this.#options.intervalMs;
  }

  /** Records one event; true when it is the first of its code in this window (log it in full). */
  note(code: PressureCode, source: string, reqId: string): boolean {
    let w = this.#window;
    if (w === undefined) {
      w = { openedAt: this.#options.clock.now(), counts: {}, sources: new Set(), capped: false, sampled: [], firstReqId: reqId, lastReqId: reqId, suppressed: 0 };
      this.#window = w;
    }
    w.lastReqId = reqId;
    if (!w.sources.has(source)) {
      if (w.sources.size < this.#options.maxTrackedSources) {
        w.sources.add(source);
        if (w.sampled.length < this.#options.maxSampledSources) w.sampled.push(source);
      } else {
        w.capped = true;
      }
    }
    const n = (w.counts[code] ?? 0) + 1;
    w.counts[code] = n;
    if (n > 1) w.suppressed++;
    return n === 1;
  }

  /**
   * When the window is over: closes it and returns its summary, or undefined if every event of
   * it was already logged in full. Before that: undefined, the window stays open.
   */
  takeDue(): PressureSummary | undefined {
    const due = this.dueAt;
    if (due === undefined || this.#options.clock.now() < due) return undefined;
    return this.take();
  }

  /** Closes the window now (at shutdown); its summary, if anything was only counted. */
  take(): PressureSummary | undefined {
    const w = this.#window;
    this.#window = undefined;
    if (w === undefined || w.suppressed === 0) return undefined;
    return {
      windowMs: this.#options.clock.now() - w.openedAt,
      counts: { ...w.counts },
      sources: w.sources.size,
      sourcesCapped: w.capped,
      sampled: [...w.sampled],
      firstReqId: w.firstReqId,
      lastReqId: w.lastReqId,
    };
  }
}
