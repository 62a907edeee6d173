/**
 * The gateway's audit log (issue 4): one JSON line per call event, written durably. Field values
 * are sanitised (controls in caret notation, strings and nesting bounded) and a line never
 * exceeds AUDIT_MAX_LINE_BYTES.
 *
 * Durability, and why the forwarding path does not wait for the disk:
 * - record() appends the whole line with write(2) (O_APPEND) before it returns, and the gateway
 *   records an event before it carries out the effects that follow it (forwarding, replying). From
 *   then on the line is in the kernel: a crash of the gateway process (kill -9, an exception,
 *   the OOM killer) can no longer lose it, so "no record lost on a crash after the event" holds
 *   for every process crash with no window at all.
 * - fsync(2), which only matters if the whole machine goes down (power, kernel panic), is issued
 *   right after the write but not awaited: it runs in the libuv thread pool, and records written
 *   while one is in flight are committed together by the next one (group commit). A machine crash
 *   can therefore lose at most the records of the last fsync round (typically a few ms of events).
 *   Waiting for it on every record put one to several disk flushes on the path of each call's
 *   control messages; synced() lets a caller wait for stable storage when it must.
 * - close() flushes synchronously (fsync) before closing.
 */
import fs from 'node:fs';
import { systemClock, type Clock } from '../../shared/clock.js';
import { AUDIT_MAX_LINE_BYTES, sanitizeAuditRecord } from './audit-record.js';

export type AuditEvent = 'requested' | 'refused' | 'rung' | 'connected' | 'ended';

export interface AuditRecord {
  event: AuditEvent;
  callId: string;
  [k: string]: unknown;
}

export interface AuditLogOptions {
  clock?: Clock;
  run?: string;
  /** An asynchronous fsync failed (the records stay written; stable storage is not confirmed). */
  onSyncError?: (err: NodeJS.ErrnoException) => void;
}

export class AuditLog {
  #fd: number | undefined;
  readonly #clock: Clock;
  readonly #run: string | undefined;
  readonly #onSyncError: ((err: NodeJS.ErrnoException) => void) | undefined;
  /** Records written so far / covered by a completed fsync / covered by the fsync in flight. */
  #written = 0;
  #synced = 0;
  #syncing: number | undefined;
  /** close() was called while an fsync was in flight: close the fd when it returns. */
  #closePending = false;
  readonly #waiters: { upTo: number; resolve: () => void }[] = [];

  private constructor(fd: number, options: AuditLogOptions) {
    this.#fd = fd;
    this.#clock = options.clock ?? systemClock;
    this.#run = options.run;
    this.#onSyncError = options.onSyncError;
  }

  /**
   * Opens (creating, mode 0640) `path` for appending; throws the fs error if it cannot.
   * `run` tags every record with the writing process's run (call ids are unique within a run,
   * so `run` + `callId` identify a call across restarts).
   */
  static open(path: string, options: AuditLogOptions = {}): AuditLog {
    return new AuditLog(fs.openSync(path, 'a', 0o640), options);
  }

  /** Appends one record (in the kernel when this returns) and starts flushing it to stable storage. */
  record(rec: AuditRecord): void {
    const fd = this.#fd;
    if (fd === undefined || this.#closePending) throw new Error('Audit log is closed');
    const tagged = this.#run === undefined ? rec : { ...rec, run: this.#run };
    const line = Buffer.from(`${JSON.stringify(sanitizeAuditRecord(new Date(this.#clock.wallNow()).toISOString(), tagged))}\n`);
    let off = 0;
    while (off < line.length) off += fs.writeSync(fd, line, off, line.length - off);
    this.#written += 1;
    this.#startSync();
  }

  /** Resolves once every record written before the call is on stable storage (or the log closed). */
  synced(): Promise<void> {
    if (this.#synced >= this.#written || this.#fd === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ upTo: this.#written, resolve }));
  }

  /** Flushes (fsync) and closes; an fsync still in flight finishes first, on its own fd. */
  close(): void {
    const fd = this.#fd;
    if (fd === undefined || this.#closePending) return;
    try {
      fs.fsyncSync(fd);
      this.#synced = this.#written;
    } finally {
      if (this.#syncing === undefined) this.#closeNow();
      else this.#closePending = true;
    }
  }

  #startSync(): void {
    const fd = this.#fd;
    if (this.#syncing !== undefined || fd === undefined || this.#synced >= this.#written) return;
    const upTo = this.#written;
    this.#syncing = upTo;
    fs.fsync(fd, (err) => {
      this.#syncing = undefined;
      if (err !== null) this.#onSyncError?.(err);
      else this.#synced = Math.max(this.#synced, upTo);
      if (this.#closePending) return this.#closeNow();
      this.#wake();
      // Records written meanwhile: one more round commits them all.
      this.#startSync();
    });
  }

  #wake(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.upTo <= this.#synced || this.#fd === undefined) {
        this.#waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  #closeNow(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    this.#closePending = false;
    if (fd !== undefined) fs.closeSync(fd);
    this.#wake();
  }
}

export { AUDIT_MAX_LINE_BYTES };
