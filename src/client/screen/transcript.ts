/**
 * The conversation kept after a call (issue 13): what both halves last showed, as plain lines to
 * print on the normal screen once the client has left the alternate screen and restored the tty,
 * the way a user expects to scroll back after a chat. Pure: it reads the panes of the screen
 * model at the size the screen had, so it shows exactly the last screenful of each half, wrapped
 * as it was. Every cell of a pane is already safe to print (see talk-stream.ts), so the lines
 * carry no control characters; the layout is the screen's own: own text, the rule, the peer's.
 */
import type { Pane } from './pane.js';
import { layoutFor, MIN_COLS, MIN_ROWS } from './screen-model.js';

/** What the transcript needs from the screen model (a ScreenModel satisfies it). */
export interface TranscriptSource {
  readonly own: { readonly pane: Pane };
  readonly peer: { readonly pane: Pane };
  readonly size: { readonly rows: number; readonly cols: number };
}

/**
 * The last screenful of both halves: own rows, a rule of the screen's width, the peer's rows,
 * each half without its trailing blank rows and each row without trailing blanks. Empty when
 * neither party typed anything (no conversation to keep). A window too small to show the halves
 * is laid out at the smallest size that can.
 */
export function renderTranscript(source: TranscriptSource, opts: { readonly ruleChar?: string } = {}): string[] {
  const rows = Math.max(MIN_ROWS, source.size.rows);
  const cols = Math.max(MIN_COLS, source.size.cols);
  const layout = layoutFor(rows);
  const own = halfRows(source.own.pane, cols, layout.ownRows);
  const peer = halfRows(source.peer.pane, cols, layout.peerRows);
  if (own.length === 0 && peer.length === 0) return [];
  return [...own, (opts.ruleChar ?? '-').repeat(cols), ...peer];
}

function halfRows(pane: Pane, cols: number, height: number): string[] {
  const rows = pane.view(cols, height).rows.map((cells) => cells.map((c) => c.text).join('').trimEnd());
  while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
  return rows;
}
