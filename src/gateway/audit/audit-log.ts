/**
 * The gateway's audit log (issue 4): one JSON line per call event, written durably. Each record()
 * is open(…,'a') + writeSync + fsyncSync before it returns, so a kill -9 right after loses nothing.
 * Field values are sanitised (controls in caret notation, strings and nesting bounded) and a line
 * never exceeds AUDIT_MAX_LINE_BYTES.
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

export class AuditLog {
  #fd: number | undefined;
  readonly #clock: Clock;
  readonly #run: string | undefined;

  private constructor(fd: number, clock: Clock, run: string | undefined) {
    this.#fd = fd;
    this.#clock = clock;
    this.#run = run;
  }

  /**
   * Opens (creating, mode 0640) `path` for appending; throws the fs error if it cannot.
   * `run` tags every record with the writing process's run (call ids are unique within a run,
   * so `run` + `callId` identify a call across restarts).
   */
  static open(path: string, options: { clock?: Clock; run?: string } = {}): AuditLog {
    return new AuditLog(fs.openSync(path, 'a', 0o640), options.clock ?? systemClock, options.run);
  }

  /** Appends one record and flushes it to stable storage before returning. */
  record(rec: AuditRecord): void {
    const fd = this.#fd;
    if (fd === undefined) throw new Error('Audit log is closed');
    const tagged = this.#run === undefined ? rec : { ...rec, run: this.#run };
    const line = Buffer.from(`${JSON.stringify(sanitizeAuditRecord(new Date(this.#clock.wallNow()).toISOString(), tagged))}\n`);
    let off = 0;
    while (off < line.length) off += fs.writeSync(fd, line, off, line.length - off);
    fs.fsyncSync(fd);
  }

  close(): void {
    if (this.#fd === undefined) return;
    fs.closeSync(this.#fd);
    this.#fd = undefined;
  }
}

export { AUDIT_MAX_LINE_BYTES };
