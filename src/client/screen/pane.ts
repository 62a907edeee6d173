/**
 * One half of the talk screen: the text one party typed, as logical lines of display cells.
 * A `Pane` only stores cells whose text is safe to print (see visible-char.ts); editing follows
 * the classic talk display: erase one column, kill the line, erase a word, new line.
 */
import { charWidth } from './char-width.js';

/** One unit of display: printable text occupying `width` terminal columns. */
export interface Cell {
  readonly text: string;
  readonly width: number;
}

/** Logical lines kept per pane (older ones scroll away for good). */
export const PANE_MAX_LINES = 500;
/** Cells per logical line; past this a line is continued on a new logical line. */
export const PANE_MAX_LINE_CELLS = 2000;
/** Tab stops every 8 columns, as in curses. */
export const TAB_WIDTH = 8;

/** A wrapped view of a pane: `rows` top to bottom, and where the cursor stands. */
export interface PaneView {
  readonly rows: readonly (readonly Cell[])[];
  readonly cursorRow: number;
  readonly cursorCol: number;
}

export class Pane {
  #lines: Cell[][] = [[]];

  /** Logical lines, oldest first (the last one is being typed). */
  get lines(): readonly (readonly Cell[])[] {
    return this.#lines;
  }

  /** The text of each logical line, for tests and logs. */
  text(): string[] {
    return this.#lines.map((l) => l.map((c) => c.text).join(''));
  }

  #current(): Cell[] {
    let line = this.#lines[this.#lines.length - 1];
    if (line === undefined) {
      line = [];
      this.#lines.push(line);
    }
    return line;
  }

  /** Appends a cell to the current line. */
  put(cell: Cell): void {
    let line = this.#current();
    if (line.length >= PANE_MAX_LINE_CELLS) {
      this.newLine();
      line = this.#current();
    }
    line.push(cell);
  }

  /** Appends a printable code point (combining marks join the previous cell). */
  putChar(cp: number): void {
    const ch = String.fromCodePoint(cp);
    const w = charWidth(cp);
    if (w === 0) {
      const line = this.#current();
      const prev = line[line.length - 1];
      if (prev !== undefined) {
        line[line.length - 1] = { text: prev.text + ch, width: prev.width };
        return;
      }
      this.put({ text: ` ${ch}`, width: 1 });
      return;
    }
    this.put({ text: ch, width: w });
  }

  /** Expands a tab to the next multiple of TAB_WIDTH columns of the logical line. */
  tab(): void {
    const col = this.#current().reduce((n, c) => n + c.width, 0);
    const n = TAB_WIDTH - (col % TAB_WIDTH);
    for (let i = 0; i < n; i++) this.put({ text: ' ', width: 1 });
  }

  newLine(): void {
    this.#lines.push([]);
    if (this.#lines.length > PANE_MAX_LINES) this.#lines.splice(0, this.#lines.length - PANE_MAX_LINES);
  }

  /** Erase: removes the last cell of the current line (never joins lines, as in classic talk). */
  erase(): void {
    this.#current().pop();
  }

  /** Line-kill: clears the current line. */
  kill(): void {
    this.#current().length = 0;
  }

  /** Word-erase: removes trailing spaces, then back to the previous space. */
  wordErase(): void {
    const line = this.#current();
    while (line.length > 0 && line[line.length - 1]?.text === ' ') line.pop();
    while (line.length > 0 && line[line.length - 1]?.text !== ' ') line.pop();
  }

  /**
   * Wraps the logical lines to `width` columns and returns the last `height` rows, top-aligned
   * while the pane is not full. A wide cell never straddles a row end.
   */
  view(width: number, height: number): PaneView {
    const w = Math.max(1, width);
    const rows: Cell[][] = [];
    // Wrap only as many logical lines (from the end) as can be visible.
    let first = this.#lines.length;
    let count = 0;
    while (first > 0 && count < height) {
      first--;
      count += wrap(this.#lines[first] ?? [], w).length;
    }
    for (let i = first; i < this.#lines.length; i++) rows.push(...wrap(this.#lines[i] ?? [], w));
    const visible = rows.slice(Math.max(0, rows.length - height));
    const last = visible[visible.length - 1] ?? [];
    const cursorCol = last.reduce((n, c) => n + c.width, 0);
    return { rows: visible, cursorRow: Math.max(0, visible.length - 1), cursorCol: Math.min(cursorCol, w - 1) };
  }
}

/** Splits one logical line into rows of at most `width` columns; a full last row adds an empty one. */
function wrap(line: readonly Cell[], width: number): Cell[][] {
  const rows: Cell[][] = [[]];
  let col = 0;
  for (const cell of line) {
    const cw = Math.min(cell.width, width);
    if (col + cw > width) {
      rows.push([]);
      col = 0;
    }
    rows[rows.length - 1]?.push(cell.width <= width ? cell : { text: cell.text.slice(0, width), width });
    col += cw;
  }
  if (col >= width) rows.push([]);
  return rows;
}
