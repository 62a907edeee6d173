/**
 * The split screen: a status line on top, own text below it, a rule, the peer's text below the rule
 * (the rule stays a plain line so screen scrapers and eyes find the halves). Pure: `frame()` lays both panes out for the current size and returns the rows as strings
 * (every row exactly `cols` columns wide) plus the cursor position, ready for a line-diff writer.
 */
import type { EditChars } from './edit-chars.js';
import { charWidth } from './char-width.js';
import { TalkStream } from './talk-stream.js';
import type { Cell } from './pane.js';
import { visibleText } from './visible-text.js';

/** Below this the halves cannot hold a line; a notice is shown instead. */
export const MIN_ROWS = 4;
export const MIN_COLS = 12;

export interface Frame {
  readonly rows: readonly string[];
  readonly cursorRow: number;
  readonly cursorCol: number;
}

export interface Layout {
  readonly statusRow: number;
  readonly ownTop: number;
  readonly ownRows: number;
  readonly ruleRow: number;
  readonly peerTop: number;
  readonly peerRows: number;
}

/** Row 0 status; own half the next ⌊(rows−2)/2⌋ rows; the rule; the peer the rest. */
export function layoutFor(rows: number): Layout {
  const ownRows = Math.floor((rows - 2) / 2);
  return { statusRow: 0, ownTop: 1, ownRows, ruleRow: ownRows + 1, peerTop: ownRows + 2, peerRows: rows - ownRows - 2 };
}

export class ScreenModel {
  readonly own: TalkStream;
  #peer: TalkStream = new TalkStream(null);
  #status = '';
  #rows: number;
  #cols: number;
  readonly #ruleChar: string;

  constructor(opts: { rows: number; cols: number; ownEditChars: EditChars; ruleChar?: string }) {
    this.own = new TalkStream(opts.ownEditChars);
    this.#rows = opts.rows;
    this.#cols = opts.cols;
    this.#ruleChar = opts.ruleChar ?? '-';
  }

  get peer(): TalkStream {
    return this.#peer;
  }

  get status(): string {
    return this.#status;
  }

  get size(): { rows: number; cols: number } {
    return { rows: this.#rows, cols: this.#cols };
  }

  resize(rows: number, cols: number): void {
    this.#rows = Math.max(1, Math.floor(rows));
    this.#cols = Math.max(1, Math.floor(cols));
  }

  /** Status messages are our own text (never peer bytes), but are still clipped to the rule. */
  setStatus(text: string): void {
    this.#status = text;
  }

  ownBytes(bytes: Uint8Array): boolean {
    return this.own.feed(bytes).bell;
  }

  /** Returns true when the peer rang the bell. */
  peerBytes(bytes: Uint8Array): boolean {
    return this.#peer.feed(bytes).bell;
  }

  frame(): Frame {
    const rows = this.#rows;
    const cols = this.#cols;
    if (rows < MIN_ROWS || cols < MIN_COLS) {
      const out = Array.from({ length: rows }, () => ' '.repeat(cols));
      out[0] = fit('[window too small]', cols);
      return { rows: out, cursorRow: 0, cursorCol: 0 };
    }
    const l = layoutFor(rows);
    const out: string[] = [fit(visibleText(this.#status), cols)];
    const ownView = this.own.pane.view(cols, l.ownRows);
    for (let r = 0; r < l.ownRows; r++) out.push(renderRow(ownView.rows[r], cols));
    out.push(this.#ruleChar.repeat(cols));
    const peerView = this.#peer.pane.view(cols, l.peerRows);
    for (let r = 0; r < l.peerRows; r++) out.push(renderRow(peerView.rows[r], cols));
    return { rows: out, cursorRow: l.ownTop + ownView.cursorRow, cursorCol: ownView.cursorCol };
  }
}

function renderRow(cells: readonly Cell[] | undefined, cols: number): string {
  let s = '';
  let w = 0;
  for (const c of cells ?? []) {
    if (w + c.width > cols) break;
    s += c.text;
    w += c.width;
  }
  return s + ' '.repeat(Math.max(0, cols - w));
}

/** Display width of a string of printable text. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0) ?? 0);
  return w;
}

/** Clips or pads `s` (printable ASCII/Unicode) to exactly `cols` columns. */
function fit(s: string, cols: number): string {
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0) ?? 0);
    if (w + cw > cols) break;
    out += ch;
    w += cw;
  }
  return out + ' '.repeat(cols - w);
}
