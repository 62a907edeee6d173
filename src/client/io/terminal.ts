/**
 * The only code that touches the user's terminal: raw mode, the alternate screen, line-diff
 * redraw, SIGWINCH, the bell. Everything written comes from a `Frame` (already made safe by the
 * screen model) plus our own cursor/erase sequences. `restore()` is idempotent and synchronous so
 * it can run on every exit path, including 'exit' and uncaught exceptions.
 *
 * We never emit ESC[2J (a full redraw erases row by row), so a typescript check for a peer's
 * `ESC [ 2 J` stays meaningful.
 */
import { writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { ReadStream, WriteStream } from 'node:tty';
import type { Frame } from '../screen/screen-model.js';
import { DEFAULT_EDIT_CHARS, editCharsFromSttyG, type EditChars } from '../screen/edit-chars.js';

const CSI = '\x1b[';
const ENTER = `${CSI}?1049h${CSI}H`;
const LEAVE = `${CSI}0m${CSI}?25h${CSI}?1049l`;

export class Terminal {
  readonly #in: ReadStream;
  readonly #out: WriteStream;
  #prev: readonly string[] = [];
  #active = false;
  #wasRaw = false;

  readonly #inFd: number;
  readonly #outFd: number;

  constructor(input: ReadStream, output: WriteStream, inFd = 0, outFd = 1) {
    this.#in = input;
    this.#out = output;
    this.#inFd = inFd;
    this.#outFd = outFd;
  }

  get size(): { rows: number; cols: number } {
    return { rows: this.#out.rows || 24, cols: this.#out.columns || 80 };
  }

  /** erase/kill/werase of the tty (via `stty -g` on our stdin), before raw mode. */
  editChars(): EditChars {
    const r = spawnSync('stty', ['-g'], { stdio: [this.#inFd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 2000 });
    return r.status === 0 ? editCharsFromSttyG(r.stdout) : DEFAULT_EDIT_CHARS;
  }

  enter(): void {
    if (this.#active) return;
    this.#active = true;
    this.#wasRaw = this.#in.isRaw;
    this.#in.setRawMode(true);
    this.#write(ENTER);
    this.#prev = [];
  }

  onKeys(cb: (bytes: Buffer) => void): void {
    this.#in.on('data', (d: Buffer | string) => cb(typeof d === 'string' ? Buffer.from(d, 'utf8') : d));
    this.#in.resume();
  }

  onResize(cb: () => void): void {
    this.#out.on('resize', cb);
  }

  /** Rewrites the rows that changed, then places the cursor. */
  draw(frame: Frame, full = false): void {
    if (!this.#active) return;
    let s = `${CSI}?25l`;
    if (full || frame.rows.length !== this.#prev.length) this.#prev = [];
    frame.rows.forEach((row, i) => {
      if (this.#prev[i] !== row) s += `${CSI}${i + 1};1H${CSI}2K${row}`;
    });
    s += `${CSI}${frame.cursorRow + 1};${frame.cursorCol + 1}H${CSI}?25h`;
    this.#prev = frame.rows;
    this.#write(s);
  }

  bell(): void {
    if (this.#active) this.#write('\x07');
  }

  /** Leaves the alternate screen and raw mode; safe to call any number of times. */
  restore(): void {
    if (!this.#active) return;
    this.#active = false;
    try {
      writeSync(this.#outFd, LEAVE); // synchronous: this may run from process 'exit'
    } catch {
      // EIO after a hang-up: the terminal is gone
    }
    try {
      this.#in.setRawMode(this.#wasRaw);
    } catch {
      // the tty may be gone (hang-up): nothing left to restore
    }
    this.#in.pause();
  }

  #write(s: string): void {
    if (!this.#out.destroyed) this.#out.write(s);
  }
}
