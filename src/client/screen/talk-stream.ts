/**
 * Interprets one party's byte stream into its pane: the first 3 bytes are the sender's edit
 * characters (unless already known, as for our own keystrokes), then raw keystrokes.
 *
 * Safety: nothing from the stream reaches the terminal as a control. Every code point becomes
 * either an edit action or a printable cell; ESC and other C0 controls show as `^[`, C1 code points
 * (0x80–0x9F, also from the Latin-1 fallback) as `\x9b`, Unicode format/bidi controls as `<U+202E>`.
 */
import { EDIT_CHARS_SIZE } from '../../protocol/constants.js';
import type { EditChars } from './edit-chars.js';
import { Pane } from './pane.js';
import { Utf8StreamDecoder } from './utf8-stream-decoder.js';

const BEL = 0x07;
const BS = 0x08;
const TAB = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;
const DEL = 0x7f;

/** Format, bidi and separator code points a terminal could act on or that hide text. */
function isInvisibleControl(cp: number): boolean {
  return (
    cp === 0x061c ||
    cp === 0x00ad ||
    (cp >= 0x200e && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x2064) ||
    (cp >= 0x2066 && cp <= 0x206f) ||
    cp === 0xfeff ||
    (cp >= 0xfff9 && cp <= 0xfffb) ||
    (cp >= 0xe0000 && cp <= 0xe007f) ||
    (cp >= 0xd800 && cp <= 0xdfff)
  );
}

/** What the adapter should do after feeding bytes. */
export interface StreamEffects {
  /** The stream asked for the bell (at most once per feed). */
  readonly bell: boolean;
}

export class TalkStream {
  readonly pane = new Pane();
  #edit: EditChars | null;
  #editBytes: number[] = [];
  readonly #decoder = new Utf8StreamDecoder();
  #lastWasCr = false;

  /** `edit` null: the first 3 bytes of the stream are the sender's edit characters. */
  constructor(edit: EditChars | null) {
    this.#edit = edit;
  }

  get editChars(): EditChars | null {
    return this.#edit;
  }

  /** True when bytes of an incomplete UTF-8 sequence wait for more. */
  get hasPending(): boolean {
    return this.#decoder.hasPending;
  }

  feed(bytes: Uint8Array): StreamEffects {
    let start = 0;
    if (this.#edit === null) {
      while (start < bytes.length && this.#editBytes.length < EDIT_CHARS_SIZE) {
        this.#editBytes.push(bytes[start] ?? 0);
        start++;
      }
      if (this.#editBytes.length < EDIT_CHARS_SIZE) return { bell: false };
      const [erase = 0, kill = 0, werase = 0] = this.#editBytes;
      this.#edit = { erase, kill, werase };
    }
    return this.#apply(this.#decoder.push(bytes.subarray(start)));
  }

  /** Shows a held incomplete sequence as Latin-1 (called after a quiet period). */
  flush(): StreamEffects {
    return this.#apply(this.#decoder.flush());
  }

  #apply(cps: readonly number[]): StreamEffects {
    let bell = false;
    for (const cp of cps) if (this.#codePoint(cp)) bell = true;
    return { bell };
  }

  /** Returns true for BEL. */
  #codePoint(cp: number): boolean {
    const e = this.#edit;
    const wasCr = this.#lastWasCr;
    this.#lastWasCr = cp === CR;
    const p = this.pane;
    if (e !== null) {
      if (cp === e.erase) return p.erase(), false;
      if (cp === e.kill) return p.kill(), false;
      if (cp === e.werase) return p.wordErase(), false;
    }
    switch (cp) {
      case BS:
      case DEL:
        p.erase();
        return false;
      case CR:
        p.newLine();
        return false;
      case LF:
        if (!wasCr) p.newLine(); // CR LF is one line end
        return false;
      case TAB:
        p.tab();
        return false;
      case BEL:
        return true;
      case FF:
        return false; // netkit ignores ^L from the peer; our own ^L is handled by the adapter
    }
    if (cp < 0x20) {
      p.put({ text: `^${String.fromCharCode(cp + 0x40)}`, width: 2 });
    } else if (cp >= 0x80 && cp <= 0x9f) {
      p.put({ text: `\\x${cp.toString(16)}`, width: 4 });
    } else if (isInvisibleControl(cp)) {
      const t = `<U+${cp.toString(16).toUpperCase().padStart(4, '0')}>`;
      p.put({ text: t, width: t.length });
    } else {
      p.putChar(cp);
    }
    return false;
  }
}
