/**
 * Log lines written after the current piece of work instead of during it. A gateway handling a
 * control message logs several lines (request, relay listening, callee rung…); formatting and
 * writing them while the message is being forwarded put them on the path of every call's set-up.
 * A DeferredLog queues the lines and writes them all from one setImmediate, i.e. after the
 * datagrams of the current event-loop turn have been sent. Order is kept; lines below the logger's
 * level are dropped at once; the queue is bounded (overflow is counted and reported in one line).
 */
import type { Logger } from 'pino';

/** Most lines queued for one flush; a burst beyond it is summarised, never buffered without bound. */
export const DEFERRED_LOG_MAX_LINES = 4096;

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
  #scheduled: NodeJS.Immediate | undefined;
  #dropped = 0;

  constructor(logger: Logger) {
    this.#log = logger;
  }

  write(level: DeferredLevel, obj: object, msg?: string): void {
    if (!this.#log.isLevelEnabled(level)) return;
    if (this.#queue.length >= DEFERRED_LOG_MAX_LINES) {
      this.#dropped += 1;
    } else {
      this.#queue.push({ level, obj, msg });
    }
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Writes every queued line now (also called on stop). */
  flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
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
