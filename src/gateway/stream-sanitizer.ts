/**
 * Incremental sanitiser for the relayed talk conversation (issue 4, "sanitises the relayed
 * conversation"). Pure: bytes in, bytes out, state carried across chunks, no I/O.
 *
 * What it neutralises, each replaced by a visible harmless rendering made of printable ASCII:
 * - ESC (0x1b) → `^[`; the bytes of the sequence that follows (CSI `ESC [ … final`, OSC/DCS/SOS/
 *   PM/APC strings `ESC ] … BEL|ST`, nF/Fp/Fe/Fs `ESC x`) are tracked so control bytes inside them
 *   (a BEL or ESC terminator) are rendered too; the printable body passes as plain text.
 * - C1 controls: a byte 0x80–0x9F that is not part of valid UTF-8 → `^[` + (byte − 0x40)
 *   (its 7-bit equivalent, 0x9B CSI → `^[[`); U+0080–U+009F encoded as UTF-8 (C2 80 … C2 9F) the same.
 * - C0 controls other than TAB, LF, CR, BEL, BS and the sender's own edit characters → `^X`.
 *
 * Printable ASCII, DEL, valid UTF-8 (including 4-byte sequences split across chunks) and bytes
 * 0xA0–0xFF that are not valid UTF-8 (Latin-1 text) pass untouched. A possible UTF-8 lead byte is
 * held until the bytes that complete (or refute) it arrive, so the output is independent of how the
 * input was chunked: concat(push(c) for c in chunks) + flush() is the same for every split.
 *
 * Cost (issues 17 and 18): a run of at least FAST_SCAN_MIN_BYTES clean bytes costs one scan, not a
 * per-byte state machine: {@link findUnsafeC0} reads four bytes per step (a SWAR test plus a shared
 * 64 Ki-entry table over byte pairs), `isUtf8()` (node:buffer, native) clears the bytes ≥ 0x80 and
 * a native `indexOf(0xc2)` finds the only UTF-8 form of a C1 control. A chunk that needs nothing
 * is returned as is (no copy). Everything else (escape sequences, C1, Latin-1, short runs between
 * controls) goes through the byte-wise state machine, whose work per byte is constant: every byte is
 * scanned at most once and visited by the machine at most once, whatever the content.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { ALWAYS_KEPT_C0, UnsafeC0Finder } from './find-unsafe-c0.js';

/** Bytes of an escape sequence tracked before giving up and returning to plain text. */
export const MAX_ESCAPE_SEQUENCE_BYTES = 256;

/**
 * Shortest clean run handed to the native checks (`isUtf8`, `indexOf`); shorter runs between
 * controls go through the byte-wise loop, whose per-byte cost is lower than a native call's fixed
 * cost there. Talkgate's own choice (measured: a native call costs about as much as 30 bytes of loop).
 */
export const FAST_SCAN_MIN_BYTES = 64;

/**
 * Most bytes given to one native UTF-8 check: a run that fails it (Latin-1 text, a stray C1) is
 * left to the byte-wise loop only up to here, then the fast path is tried again. Bounds the native
 * work per byte whatever the content; talkgate's own choice.
 */
export const HIGH_BYTE_CHECK_BYTES = 4_096;

/** Below this many bytes a copy into the output is a byte loop rather than a subarray + set(). */
const SMALL_COPY_BYTES = 16;

const ESC = 0x1b;
const BEL = 0x07;
const CARET = 0x5e; // '^'
const LBRACKET = 0x5b; // '['
const BACKSLASH = 0x5c;


const State = {
  Ground: 0,
  /** Inside a UTF-8 multi-byte sequence (`#pending` holds the bytes seen so far). */
  Utf8: 1,
  /** Just after ESC (or ESC + intermediates). */
  Escape: 2,
  /** Inside `ESC [` parameters/intermediates. */
  Csi: 3,
  /** Inside an OSC/DCS/SOS/PM/APC string. */
  Str: 4,
  /** Inside a string, just after ESC (maybe ST = ESC \\). */
  StrEscape: 5,
} as const;
type State = (typeof State)[keyof typeof State];

export interface StreamSanitizerOptions {
  /**
   * The sender's 3 edit characters (erase, kill, word-erase); those that are C0 controls or DEL
   * pass untouched. ESC and C1 bytes are never kept, whatever the sender announced.
   */
  editChars?: Uint8Array;
}

/** Stateful, chunking-invariant sanitiser for one direction of one call. */
export class StreamSanitizer {
  /** 1 = pass untouched in plain text, for bytes 0x00–0x1f. */
  readonly #keepC0 = new Uint8Array(32);
  #state: State = State.Ground;
  /** Pending UTF-8 bytes (lead + continuations so far). */
  readonly #pending = new Uint8Array(4);
  #pendingLen = 0;
  #pendingNeed = 0;
  /** Bytes consumed in the current escape sequence (bounded by MAX_ESCAPE_SEQUENCE_BYTES). */
  #seqLen = 0;
  readonly #finder: UnsafeC0Finder;

  constructor(options: StreamSanitizerOptions = {}) {
    for (const b of ALWAYS_KEPT_C0) this.#keepC0[b] = 1;
    const edit = options.editChars;
    if (edit !== undefined) {
      for (const b of edit) if (b < 0x20 && b !== ESC) this.#keepC0[b] = 1;
    }
    this.#finder = new UnsafeC0Finder(this.#keepC0);
  }

  /**
   * Sanitises one chunk; returns the input itself when nothing needed changing. Runs of bytes that
   * pass untouched (printable ASCII, kept controls, Latin-1, complete valid UTF-8 sequences) are
   * found by a scan and copied in bulk; only the bytes that need the state machine go through it
   * byte by byte, and the output buffer is allocated only when something changes.
   */
  push(chunk: Uint8Array): Uint8Array {
    const n = chunk.length;
    let out: Out | undefined;
    /** chunk[copied, i) are untouched bytes not yet copied to `out`. */
    let copied = 0;
    let i = 0;
    /** Index of the next C0 to render at or after `i` (n: none), valid while `i <= c0At`; -1: not scanned. */
    let c0At = -1;
    /** Bytes before this index failed the native UTF-8 check: the byte-wise loop owns them. */
    let slowUntil = 0;
    UnsafeC0Finder.forget();
    while (i < n) {
      if (this.#state === State.Ground) {
        if (i >= slowUntil && n - i >= FAST_SCAN_MIN_BYTES) {
          if (c0At < i) c0At = this.#finder.find(chunk, i, n);
          const end = completeEnd(chunk, i, Math.min(c0At, i + HIGH_BYTE_CHECK_BYTES));
          if (end - i >= FAST_SCAN_MIN_BYTES) {
            if (highBytesPass(chunk, i, end)) {
              i = end;
              continue;
            }
            slowUntil = end;
          }
        }
        const limit = Math.min(n, Math.max(slowUntil, i + FAST_SCAN_MIN_BYTES));
        i = this.#cleanRun(chunk, i, limit);
        if (i >= n) break;
        if (i >= limit && this.#passes(chunk, i)) continue;
      }
      out ??= new Out(n + (n >>> 3) + 16);
      out.copy(chunk, copied, i);
      this.#byte(chunk[i]!, out);
      copied = ++i;
    }
    UnsafeC0Finder.forget();
    if (out === undefined) return chunk;
    out.copy(chunk, copied, n);
    return out.result();
  }

  /** Whether the byte at `i` (ground state) would start a run that passes: the byte-wise loop's first test. */
  #passes(chunk: Uint8Array, i: number): boolean {
    return this.#cleanRun(chunk, i, i + 1) > i;
  }

  /**
   * From `i` in the ground state, the index of the first byte that is not part of a run passing
   * untouched, or the first index at or after `limit` that starts a new run (a UTF-8 sequence is
   * never cut). A UTF-8 sequence counts only when complete in this chunk and valid (and not an
   * encoded C1); otherwise the state machine takes it from its lead.
   */
  #cleanRun(chunk: Uint8Array, i: number, limit: number): number {
    const n = chunk.length;
    const keep = this.#keepC0;
    while (i < limit) {
      const b = chunk[i]!;
      if (b >= 0x20) {
        if (b < 0x80) {
          i++; // printable ASCII and DEL
          continue;
        }
        if (b < 0xa0) return i; // C1
        const need = utf8Need(b);
        if (need === 0) {
          i++; // Latin-1, not a UTF-8 lead
          continue;
        }
        if (i + need >= n) return i;
        const b1 = chunk[i + 1]!;
        if (b1 < secondMin(b) || b1 > secondMax(b) || (b === 0xc2 && b1 < 0xa0)) return i;
        if (need >= 2 && (chunk[i + 2]! & 0xc0) !== 0x80) return i;
        if (need === 3 && (chunk[i + 3]! & 0xc0) !== 0x80) return i;
        i += need + 1;
      } else if (keep[b] === 1) {
        i++;
      } else {
        return i;
      }
    }
    return i;
  }

  /** Ends the stream: emits a held incomplete UTF-8 sequence as raw bytes and resets the state. */
  flush(): Uint8Array {
    const out = new Out(16);
    if (this.#state === State.Utf8) this.#abortUtf8(out);
    this.#state = State.Ground;
    this.#seqLen = 0;
    return out.result();
  }

  #byte(b: number, out: Out): void {
    switch (this.#state) {
      case State.Ground:
        this.#ground(b, out);
        return;
      case State.Utf8:
        this.#utf8(b, out);
        return;
      case State.Escape:
        this.#escape(b, out);
        return;
      case State.Csi:
        if (this.#tooLong() || b < 0x20 || b > 0x7e) {
          this.#state = State.Ground;
          this.#ground(b, out);
        } else {
          out.push(b);
          if (b >= 0x40) this.#state = State.Ground;
        }
        return;
      case State.Str:
        if (b === BEL) {
          out.caret(b);
          this.#state = State.Ground;
        } else if (b === ESC) {
          out.push2(CARET, LBRACKET);
          this.#state = State.StrEscape;
        } else if (this.#tooLong() || b < 0x20 || b > 0x7e) {
          // LF/CR/other controls and 8-bit bytes end the tracked string: plain text rules again.
          this.#state = State.Ground;
          this.#ground(b, out);
        } else {
          out.push(b);
        }
        return;
      case State.StrEscape:
        if (b === BACKSLASH) {
          out.push(b);
          this.#state = State.Ground;
        } else {
          this.#state = State.Escape;
          this.#seqLen = 0;
          this.#escape(b, out);
        }
        return;
    }
  }

  #tooLong(): boolean {
    return ++this.#seqLen > MAX_ESCAPE_SEQUENCE_BYTES;
  }

  #ground(b: number, out: Out): void {
    if (b < 0x20) {
      if (b === ESC) {
        out.push2(CARET, LBRACKET);
        this.#state = State.Escape;
        this.#seqLen = 0;
      } else if (this.#keepC0[b] === 1) {
        out.push(b);
      } else {
        out.caret(b);
      }
    } else if (b < 0x80) {
      out.push(b);
    } else if (b < 0xa0) {
      out.c1(b);
    } else {
      const need = utf8Need(b);
      if (need === 0) {
        out.push(b); // 0xA0–0xC1, 0xF5–0xFF: not a UTF-8 lead, Latin-1 text
      } else {
        this.#pending[0] = b;
        this.#pendingLen = 1;
        this.#pendingNeed = need;
        this.#state = State.Utf8;
      }
    }
  }

  #utf8(b: number, out: Out): void {
    const lead = this.#pending[0]!;
    const lo = this.#pendingLen === 1 ? secondMin(lead) : 0x80;
    const hi = this.#pendingLen === 1 ? secondMax(lead) : 0xbf;
    if (b < lo || b > hi) {
      this.#abortUtf8(out);
      this.#ground(b, out);
      return;
    }
    this.#pending[this.#pendingLen++] = b;
    if (this.#pendingLen <= this.#pendingNeed) return;
    this.#state = State.Ground;
    if (lead === 0xc2 && b < 0xa0) {
      out.c1(b); // U+0080–U+009F
    } else {
      for (let k = 0; k < this.#pendingLen; k++) out.push(this.#pending[k]!);
    }
    this.#pendingLen = 0;
  }

  /** The held bytes did not form valid UTF-8: emit them one by one as raw bytes. */
  #abortUtf8(out: Out): void {
    // Only the lead byte can be held alone or with continuations 0x80–0xBF; continuations in
    // 0x80–0x9F are C1 bytes once the sequence is known to be invalid.
    for (let k = 0; k < this.#pendingLen; k++) {
      const p = this.#pending[k]!;
      if (p >= 0x80 && p < 0xa0) out.c1(p);
      else out.push(p);
    }
    this.#pendingLen = 0;
    this.#state = State.Ground;
  }

  #escape(b: number, out: Out): void {
    if (this.#tooLong() || b < 0x20 || b > 0x7e) {
      this.#state = State.Ground;
      this.#ground(b, out);
      return;
    }
    out.push(b);
    if (b === LBRACKET) this.#state = State.Csi;
    else if (b === 0x5d || b === 0x50 || b === 0x58 || b === 0x5e || b === 0x5f) this.#state = State.Str; // ] P X ^ _
    else if (b >= 0x30) this.#state = State.Ground; // final byte of a 2-byte (or nF) sequence
    // 0x20–0x2F: intermediate, stay in Escape
  }
}

/** Number of continuation bytes a UTF-8 lead byte needs, 0 if it is not a valid lead. */
function utf8Need(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 1;
  if (b >= 0xe0 && b <= 0xef) return 2;
  if (b >= 0xf0 && b <= 0xf4) return 3;
  return 0;
}

/** RFC 3629 §4: the allowed range of the second byte depends on the lead (no overlongs, surrogates, > U+10FFFF). */
function secondMin(lead: number): number {
  return lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
}
function secondMax(lead: number): number {
  return lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
}

/**
 * `n`, or the index of a UTF-8 lead byte in the last 3 bytes of chunk[from, n) whose sequence would
 * run past `n` (the state machine holds it until the next chunk). Leads are ≥ 0xC2 and never
 * continuation bytes, so the last lead is the only one that can start an incomplete sequence.
 */
function completeEnd(chunk: Uint8Array, from: number, n: number): number {
  for (let j = n - 1; j >= from && j >= n - 3; j--) {
    const need = utf8Need(chunk[j]!);
    if (need > 0) return j + need >= n ? j : n;
  }
  return n;
}

/** UTF-8 lead byte of U+0080–U+00BF; followed by 0x80–0x9F it encodes a C1 control. */
const C1_UTF8_LEAD = 0xc2;

/**
 * Whether the bytes ≥ 0x80 of chunk[from, to) (a run without unwanted C0) all pass untouched: the
 * run is valid UTF-8 (complete sequences only) and holds no encoded C1 (C2 80–9F). False sends the
 * run to the byte-wise loop (Latin-1 text, raw C1, broken UTF-8), which decides byte by byte.
 */
function highBytesPass(chunk: Uint8Array, from: number, to: number): boolean {
  const run = Buffer.from(chunk.buffer, chunk.byteOffset + from, to - from); // a view: native memchr below
  if (!isUtf8(run)) return false;
  for (let k = run.indexOf(C1_UTF8_LEAD); k !== -1; k = run.indexOf(C1_UTF8_LEAD, k + 2)) {
    if (run[k + 1]! < 0xa0) return false; // valid UTF-8: a C2 lead always has its continuation in the run
  }
  return true;
}

/** A growable output buffer (worst case 3 output bytes per input byte). */
class Out {
  #buf: Uint8Array;
  #len = 0;
  constructor(size: number) {
    this.#buf = new Uint8Array(size);
  }
  #room(k: number): void {
    if (this.#len + k <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + k));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }
  copy(src: Uint8Array, from: number, to: number): void {
    const k = to - from;
    if (k <= 0) return;
    this.#room(k);
    if (k < SMALL_COPY_BYTES) {
      for (let j = from; j < to; j++) this.#buf[this.#len++] = src[j]!;
      return;
    }
    this.#buf.set(src.subarray(from, to), this.#len);
    this.#len += k;
  }
  push(b: number): void {
    this.#room(1);
    this.#buf[this.#len++] = b;
  }
  push2(a: number, b: number): void {
    this.#room(2);
    this.#buf[this.#len++] = a;
    this.#buf[this.#len++] = b;
  }
  /** C0 control → `^X`. */
  caret(b: number): void {
    this.push2(CARET, b + 0x40);
  }
  /** C1 control 0x80–0x9F → `^[` + its 7-bit equivalent (0x40–0x5F). */
  c1(b: number): void {
    this.#room(3);
    this.#buf[this.#len++] = CARET;
    this.#buf[this.#len++] = LBRACKET;
    this.#buf[this.#len++] = b - 0x40;
  }
  result(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
