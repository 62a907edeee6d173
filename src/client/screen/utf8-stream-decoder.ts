/**
 * Incremental decoder for one peer's byte stream: well-formed UTF-8 becomes its code points,
 * every byte that is not part of a well-formed sequence is taken as Latin-1 (its own value), so
 * classic 8-bit peers stay readable. Sequences split across TCP segments are held (at most 3
 * bytes) until they complete, turn out invalid, or `flush()` gives up on them.
 */

/** Longest UTF-8 sequence (RFC 3629). */
const MAX_SEQ = 4;

function seqLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Valid range of the second byte for a lead byte (RFC 3629 table: no overlongs/surrogates). */
function secondByteOk(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

export class Utf8StreamDecoder {
  #pending: number[] = [];

  /** True when bytes of an incomplete sequence are waiting. */
  get hasPending(): boolean {
    return this.#pending.length > 0;
  }

  /** Feeds bytes, returns the code points that are complete. */
  push(bytes: Uint8Array): number[] {
    const out: number[] = [];
    for (const b of bytes) this.#byte(b, out);
    return out;
  }

  /** Gives up on an incomplete sequence: its bytes come out as Latin-1. */
  flush(): number[] {
    const out = [...this.#pending];
    this.#pending = [];
    return out;
  }

  #byte(b: number, out: number[]): void {
    const p = this.#pending;
    if (p.length === 0) {
      if (b < 0x80) out.push(b);
      else if (seqLength(b) === 0) out.push(b); // stray continuation or invalid lead: Latin-1
      else p.push(b);
      return;
    }
    const lead = p[0] ?? 0;
    const ok = p.length === 1 ? secondByteOk(lead, b) : b >= 0x80 && b <= 0xbf;
    if (!ok) {
      // The held bytes were not UTF-8: emit the lead as Latin-1, re-scan the rest and this byte.
      this.#pending = [];
      out.push(lead);
      for (const rest of [...p.slice(1), b]) this.#byte(rest, out);
      return;
    }
    p.push(b);
    const need = seqLength(lead);
    if (p.length === need) {
      let cp = lead & (need === 2 ? 0x1f : need === 3 ? 0x0f : 0x07);
      for (let i = 1; i < need; i++) cp = (cp << 6) | ((p[i] ?? 0) & 0x3f);
      this.#pending = [];
      out.push(cp);
    } else if (p.length >= MAX_SEQ) {
      // Unreachable with seqLength() ≤ 4; kept as a bound.
      out.push(...this.flush());
    }
  }
}
