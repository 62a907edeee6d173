/**
 * Log lines written after the current piece of work instead of during it. A gateway handling a
 * control message logs several lines (request, relay listening, callee rung…); formatting and
 * writing them while the message is being forwarded put them on the path of every call's set-up.
 * A DeferredLog queues the lines and writes them together DEFERRED_LOG_FLUSH_MS after the first
 * one: after the datagrams of the current turn have been sent, and after the next few control
 * messages of the same call set-up (which follow within milliseconds), so formatting and the
 * write's thread-pool hand-off never compete with them for the CPU. Lines are at most that late.
 * Order is kept; lines below the logger's level are dropped at once; the queue is bounded
 * (overflow is counted and reported in one line).
 */
import type { Logger } from 'pino';

/** Most lines queued for one flush; a burst beyond it is summarised, never buffered without bound. */
export const DEFERRED_LOG_MAX_LINES = 4096;
/** Delay from the first queued line to the flush (ms): how late a deferred line may be written. */
export const DEFERRED_LOG_FLUSH_MS = 20;

export type DeferredLevel = 'debug' | 'info' | 'warn' | 'error';

/** The subset of a pino logger the relay uses (see RelayLogger). */
export interface DeferredChildLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): DeferredChildLogger;
}

export class DeferredLog {
  readonly #log: Logger;
  readonly #queue: { level: DeferredLevel; obj: object; msg: string | undefined }[] = [];
  #scheduled: NodeJS.Timeout | undefined;
  #dropped = 0;
  readonly #flushMs: number;

  constructor(logger: Logger, flushMs: number = DEFERRED_LOG_FLUSH_MS) {
    this.#log = logger;
    this.#flushMs = Math.max(0, flushMs);
  }

  write(level: DeferredLevel, obj: object, msg?: string): void {
    if (!this.#log.isLevelEnabled(level)) return;
    if (this.#queue.length >= DEFERRED_LOG_MAX_LINES) {
      this.#dropped += 1;
    } else {
      this.#queue.push({ level, obj, msg });
    }
    this.#scheduled ??= setTimeout(() => this.flush(), this.#flushMs);
  }

  /** Writes every queued line now (also called on stop). */
  flush(): void {
    if (this.#scheduled !== undefined) clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    const lines = this.#queue.splice(0, this.#queue.length);
    for (const l of lines) this.#log[l.level](l.obj, l.msg);
    if (this.#dropped > 0) {
      this.#log.warn({ dropped: this.#dropped }, 'log lines dropped (deferred log queue full)');
      this.#dropped = 0;
    }
  }

  /** A logger facade whose lines go through this queue (bindings merged into each line). */
  facade(bindings: Record<string, unknown> = {}): DeferredChildLogger {
    const at =
      (level: DeferredLevel) =>
      (obj: object, msg?: string): void =>
        this.write(level, Object.keys(bindings).length === 0 ? obj : { ...bindings, ...obj }, msg);
    return {
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => this.facade({ ...bindings, ...more }),
    };
  }

  get pending(): number {
    return this.#queue.length;
  }
}
