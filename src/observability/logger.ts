/**
 * Structured logging: pino JSON lines (default) or syslog-style lines (`<PRI>` prefix, which
 * journald and most syslog daemons understand on stderr). Callers put peer-supplied text through
 * sanitizeText() before logging; the syslog formatter also neutralises every non-printable byte.
 */
import { createWriteStream, fstatSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { sanitizeText } from '../shared/sanitize.js';

export type { Logger } from 'pino';
export type LogFormat = 'json' | 'syslog';

export interface LoggerOptions {
  readonly name: string;
  readonly format: LogFormat;
  readonly level?: string;
  /** Where lines go; defaults to stderr (see {@link stderrDestination}). */
  readonly destination?: NodeJS.WritableStream;
  /**
   * Default destination only: write stderr synchronously (one write(2) per line, as before).
   * Off by default: a gateway writes several lines per call while forwarding control messages.
   */
  readonly sync?: boolean;
  /**
   * Append the lines to this file instead of stderr (asynchronous, bounded like stderr's buffer);
   * {@link reopenLogFiles} reopens it by its path after logrotate moved it (SIGHUP).
   */
  readonly file?: string;
}

/** File destinations of this process, reopened together on SIGHUP. */
const fileDestinations = new Set<{ reopen(): void }>();

/**
 * Reopens every log file by its path (logrotate's `postrotate` convention): lines already
 * buffered are written to the old file first, nothing is lost.
 */
export function reopenLogFiles(): void {
  for (const d of fileDestinations) d.reopen();
}

function fileDestination(path: string): NodeJS.WritableStream {
  const dest = pino.destination({ dest: path, append: true, sync: false, minLength: 0, maxLength: STDERR_MAX_BUFFER_BYTES, mkdir: false });
  dest.on('error', () => undefined);
  fileDestinations.add(dest);
  return dest as unknown as NodeJS.WritableStream;
}

/** Bytes buffered by the asynchronous stderr destination before lines are dropped (bounded). */
const STDERR_MAX_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * stderr as a log destination. A pipe, file or terminal gets an asynchronous pino destination
 * (SonicBoom): a line is appended to a buffer and written by the libuv thread pool, so logging
 * never puts a write(2) (which blocks while a pipe reader lags) on the path of a forwarded
 * message. The buffer is bounded (lines beyond it are dropped, logging never grows memory without
 * bound) and flushed synchronously on process exit; a kill -9 may lose the last lines, which is
 * acceptable for operational logs (the audit log, not this, is the durable record). Anything
 * else (a socket: stderr under inetd) keeps process.stderr.
 */
function stderrDestination(sync: boolean): NodeJS.WritableStream {
  if (sync) return process.stderr;
  let kind: 'async' | 'plain' = 'plain';
  try {
    const st = fstatSync(2);
    if (st.isFIFO() || st.isFile() || st.isCharacterDevice()) kind = 'async';
  } catch {
    // no fd 2: process.stderr copes
  }
  if (kind === 'plain') return process.stderr;
  const dest = pino.destination({ dest: 2, sync: false, minLength: 0, maxLength: STDERR_MAX_BUFFER_BYTES });
  // Logging must never take the process down (EAGAIN is retried by SonicBoom itself).
  dest.on('error', () => undefined);
  return dest as unknown as NodeJS.WritableStream;
}

/** RFC 5424 facility `daemon` (3). */
const FACILITY_DAEMON = 3;

/** pino level → syslog severity. */
function severity(level: number): number {
  if (level >= 60) return 2; // crit
  if (level >= 50) return 3; // err
  if (level >= 40) return 4; // warning
  if (level >= 30) return 6; // info
  return 7; // debug
}

const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** One pino JSON line → `<PRI>name[pid]: msg key=value ...`. */
export function formatSyslogLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `<${FACILITY_DAEMON * 8 + 3}>${sanitizeText(json)}`;
  }
  const level = typeof rec['level'] === 'number' ? rec['level'] : 30;
  const pri = FACILITY_DAEMON * 8 + severity(level);
  const name = typeof rec['name'] === 'string' ? rec['name'] : 'talkgate';
  const pid = typeof rec['pid'] === 'number' ? rec['pid'] : process.pid;
  const fields = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  return sanitizeText(`<${pri}>${name}[${pid}]: ${[msg, ...fields].join(' ')}`);
}

class SyslogStream extends Writable {
  readonly #out: NodeJS.WritableStream;
  #pending = '';
  constructor(out: NodeJS.WritableStream) {
    super();
    this.#out = out;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#pending += chunk.toString();
    let nl: number;
    while ((nl = this.#pending.indexOf('\n')) !== -1) {
      const line = this.#pending.slice(0, nl);
      this.#pending = this.#pending.slice(nl + 1);
      if (line.length > 0) this.#out.write(`${formatSyslogLine(line)}\n`);
    }
    cb();
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const out = options.destination ?? (options.file !== undefined ? fileDestination(options.file) : stderrDestination(options.sync ?? false));
  const stream = options.format === 'syslog' ? new SyslogStream(out) : out;
  return pino({ name: options.name, level: options.level ?? 'info', base: { pid: process.pid } }, stream);
}

/** An append-only log file stream (for inetd mode, where stdout and stderr are the UDP socket). */
export function logFileStream(path: string): NodeJS.WritableStream {
  return createWriteStream(path, { flags: 'a', mode: 0o640 });
}
