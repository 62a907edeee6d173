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
 * - fsync(2), which only matters if the whole machine goes down (power, kernel panic), is not on
 *   that path either: it runs in the libuv thread pool AUDIT_SYNC_DELAY_MS after the first record
 *   not yet synced, and commits every record written until then together (group commit, as a
 *   database's commit delay does). Issued right after each write, the thread-pool hand-off and
 *   the journal commit competed with the forwarded datagram for the CPU, on every control message
 *   of every call. A machine crash can therefore lose at most the records of the last
 *   AUDIT_SYNC_DELAY_MS plus one fsync; synced() lets a caller wait for stable storage when it must.
 *   A failing fsync is reported (onSyncError) and retried, the delay doubling up to
 *   AUDIT_SYNC_RETRY_MAX_MS, so a broken disk costs a bounded rate of retries and error lines.
 * - close() flushes synchronously (fsync) before closing, and never throws: shutdown must get past
 *   any audit-file error (a device that rejects fsync, such as /dev/full, answers EINVAL; close(2)
 *   can report a deferred write error). Such a failure is reported through onSyncError, the
 *   descriptor is released all the same, and the caller goes on to flush its other logs.
 */
import fs from 'node:fs';
import { systemClock, type Clock } from '../../shared/clock.js';
import { AUDIT_MAX_LINE_BYTES, formatAuditLine } from './audit-record.js';
import { TalkError } from '../../shared/talk-error.js';

/**
 * Group-commit delay of the audit log's fsync (ms after the first unsynced record): the bound on
 * what a machine crash can lose, and what keeps fsync off the control messages' path.
 */
export const AUDIT_SYNC_DELAY_MS = 20;
/** Longest wait between fsync retries while fsync keeps failing (doubling from AUDIT_SYNC_DELAY_MS). */
export const AUDIT_SYNC_RETRY_MAX_MS = 1_000;

export type AuditEvent = 'requested' | 'refused' | 'rung' | 'connected' | 'ended';

export interface AuditRecord {
  event: AuditEvent;
  callId: string;
  [k: string]: unknown;
}

export interface AuditLogOptions {
  clock?: Clock;
  run?: string;
  /**
   * An fsync failed, asynchronous or the final one of close(), or close(2) itself failed: the records
   * stay written, stable storage is not confirmed. Never thrown, only reported here.
   */
  onSyncError?: (err: NodeJS.ErrnoException) => void;
  /** fsync this long after the first unsynced record (default AUDIT_SYNC_DELAY_MS; 0: at once). */
  syncDelayMs?: number;
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
  /** The group-commit timer (armed while unsynced records wait for their fsync). */
  #syncTimer: NodeJS.Timeout | undefined;
  readonly #syncDelayMs: number;
  /** fsyncs failed in a row (the retry delay doubles with each, up to AUDIT_SYNC_RETRY_MAX_MS). */
  #syncFailures = 0;
  /** close() was called while an fsync was in flight: close the fd when it returns. */
  #closePending = false;
  readonly #waiters: { upTo: number; resolve: () => void }[] = [];

  private constructor(fd: number, options: AuditLogOptions) {
    this.#fd = fd;
    this.#clock = options.clock ?? systemClock;
    this.#run = options.run;
    this.#onSyncError = options.onSyncError;
    this.#syncDelayMs = Math.max(0, options.syncDelayMs ?? AUDIT_SYNC_DELAY_MS);
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
    if (fd === undefined || this.#closePending) throw new TalkError('AUDIT_CLOSED', 'Audit log is closed');
    const tagged = this.#run === undefined ? rec : { ...rec, run: this.#run };
    const line = Buffer.from(formatAuditLine(new Date(this.#clock.wallNow()).toISOString(), tagged));
    let off = 0;
    while (off < line.length) off += fs.writeSync(fd, line, off, line.length - off);
    this.#written += 1;
    this.#scheduleSync();
  }

  /** Resolves once every record written before the call is on stable storage (or the log closed). */
  synced(): Promise<void> {
    if (this.#synced >= this.#written || this.#fd === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ upTo: this.#written, resolve }));
  }

  /**
   * Flushes (fsync) and closes; an fsync still in flight finishes first, on its own fd. Never throws:
   * a failing fsync or close is reported through onSyncError and the log ends closed all the same.
   */
  close(): void {
    const fd = this.#fd;
    if (fd === undefined || this.#closePending) return;
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    try {
      fs.fsyncSync(fd);
      this.#synced = this.#written;
    } catch (err: unknown) {
      this.#report(err);
    }
    if (this.#syncing === undefined) this.#closeNow();
    else this.#closePending = true;
  }

  /** Arms the group commit (or syncs at once with syncDelayMs 0); one timer or fsync at a time. */
  #scheduleSync(): void {
    if (this.#syncTimer !== undefined || this.#syncing !== undefined) return;
    const delay =
      this.#syncFailures === 0
        ? this.#syncDelayMs
        : Math.min(AUDIT_SYNC_RETRY_MAX_MS, Math.max(this.#syncDelayMs, AUDIT_SYNC_DELAY_MS) * 2 ** Math.min(this.#syncFailures, 16));
    if (delay === 0) return this.#startSync();
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      this.#startSync();
    }, delay);
  }

  #startSync(): void {
    const fd = this.#fd;
    if (this.#syncing !== undefined || fd === undefined || this.#synced >= this.#written) return;
    const upTo = this.#written;
    this.#syncing = upTo;
    fs.fsync(fd, (err) => {
      this.#syncing = undefined;
      if (err !== null) {
        this.#syncFailures += 1;
        this.#report(err);
      } else {
        this.#syncFailures = 0;
        this.#synced = Math.max(this.#synced, upTo);
      }
      if (this.#closePending) return this.#closeNow();
      this.#wake();
      // Records written meanwhile: one more round commits them all.
      if (this.#synced < this.#written) this.#scheduleSync();
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
    try {
      if (fd !== undefined) fs.closeSync(fd);
    } catch (err: unknown) {
      this.#report(err);
    }
    this.#wake();
  }

  /** Hands an fsync/close failure to onSyncError; a throwing handler cannot break the close either. */
  #report(err: unknown): void {
    const e: NodeJS.ErrnoException = err instanceof Error ? err : new Error(String(err));
    try {
      this.#onSyncError?.(e);
    } catch {
      // the reporter failed too: the log is being closed regardless
    }
  }
}

export { AUDIT_MAX_LINE_BYTES };
