/**
 * Where each key of a TOML document is written: a key path (`["policy", 1, "remote"]`) → its
 * 1-based line. smol-toml reports positions only for syntax errors, so schema errors found after
 * parsing are mapped back to the text with this small scanner. It follows TOML 1.0's structure
 * (table and array-of-tables headers, dotted keys, inline tables, arrays, the four string forms
 * and comments) and only records positions: values are skipped, never interpreted. Pure.
 *
 * It is meant for text smol-toml has already accepted; on malformed text it stops scanning and
 * keeps what it found (a lookup then falls back to the nearest located ancestor, or nothing).
 */

/** A key path as the schema reports it: table and key names, array indexes as numbers. */
export type KeyPath = readonly (string | number | symbol)[];

/** Bound on the text scanned (a configuration is a few KB; beyond this, lines are not located). */
export const TOML_LOCATE_MAX_CHARS = 1024 * 1024;
/** Bound on nesting of arrays and inline tables followed (deeper values are skipped as a whole). */
const MAX_DEPTH = 64;

/** Line lookup over one document. */
export interface TomlKeyLines {
  /** The line of `path`, else of its nearest located ancestor; undefined when none is located. */
  lineOf(path: KeyPath): number | undefined;
}

const BARE_KEY = /[A-Za-z0-9_-]/;

function keyOf(path: readonly (string | number)[]): string {
  return JSON.stringify(path);
}

class Scanner {
  readonly #s: string;
  #i = 0;
  #line = 1;
  readonly lines = new Map<string, number>();
  /** Array-of-tables path → index of its current (last) element. */
  readonly #arrays = new Map<string, number>();

  constructor(text: string) {
    this.#s = text;
  }

  #peek(k = 0): string {
    return this.#s[this.#i + k] ?? '';
  }

  #advance(): void {
    if (this.#s[this.#i] === '\n') this.#line++;
    this.#i++;
  }

  #record(path: readonly (string | number)[], line: number): void {
    const k = keyOf(path);
    if (!this.lines.has(k)) this.lines.set(k, line);
  }

  #skipSpaces(): void {
    while (this.#peek() === ' ' || this.#peek() === '\t') this.#advance();
  }

  /** Spaces, newlines and comments (inside arrays, between statements). */
  #skipBlank(): void {
    for (;;) {
      const c = this.#peek();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.#advance();
      else if (c === '#') this.#skipComment();
      else return;
    }
  }

  #skipComment(): void {
    while (this.#i < this.#s.length && this.#peek() !== '\n') this.#advance();
  }

  #done(): boolean {
    return this.#i >= this.#s.length;
  }

  /** A quoted string starting at the cursor; returns its raw content (escapes kept as written). */
  #string(): string {
    const q = this.#peek();
    const multi = this.#peek(1) === q && this.#peek(2) === q;
    const delim = multi ? q.repeat(3) : q;
    for (let n = 0; n < delim.length; n++) this.#advance();
    const start = this.#i;
    while (!this.#done()) {
      if (q === '"' && this.#peek() === '\\') {
        this.#advance();
        this.#advance();
        continue;
      }
      if (this.#s.startsWith(delim, this.#i)) {
        // A multi-line string may end with up to two extra quotes before the delimiter.
        while (multi && this.#peek(3) === q) this.#advance();
        const content = this.#s.slice(start, this.#i);
        for (let n = 0; n < delim.length; n++) this.#advance();
        return content;
      }
      if (!multi && this.#peek() === '\n') return this.#s.slice(start, this.#i);
      this.#advance();
    }
    return this.#s.slice(start, this.#i);
  }

  /** A dotted key (`a."b.c".d`); undefined when there is none at the cursor. */
  #key(): string[] | undefined {
    const parts: string[] = [];
    for (;;) {
      this.#skipSpaces();
      const c = this.#peek();
      if (c === '"' || c === "'") parts.push(this.#string());
      else {
        const start = this.#i;
        while (BARE_KEY.test(this.#peek()) && !this.#done()) this.#advance();
        if (this.#i === start) return undefined;
        parts.push(this.#s.slice(start, this.#i));
      }
      this.#skipSpaces();
      if (this.#peek() !== '.') return parts;
      this.#advance();
    }
  }

  /** Skips one value, recording the keys and array elements inside it under `path`. */
  #value(path: readonly (string | number)[], depth: number): void {
    this.#skipSpaces();
    const c = this.#peek();
    if (c === '"' || c === "'") {
      this.#string();
      return;
    }
    if (c === '[') {
      this.#advance();
      for (let index = 0; !this.#done(); index++) {
        this.#skipBlank();
        if (this.#peek() === ']') break;
        this.#record([...path, index], this.#line);
        if (depth < MAX_DEPTH) this.#value([...path, index], depth + 1);
        else this.#scalar();
        this.#skipBlank();
        if (this.#peek() !== ',') break;
        this.#advance();
      }
      if (this.#peek() === ']') this.#advance();
      return;
    }
    if (c === '{') {
      this.#advance();
      while (!this.#done()) {
        this.#skipBlank();
        if (this.#peek() === '}') break;
        const line = this.#line;
        const k = this.#key();
        if (k === undefined) break;
        this.#recordKey(path, k, line);
        this.#skipSpaces();
        if (this.#peek() !== '=') break;
        this.#advance();
        if (depth < MAX_DEPTH) this.#value([...path, ...k], depth + 1);
        else this.#scalar();
        this.#skipBlank();
        if (this.#peek() !== ',') break;
        this.#advance();
      }
      if (this.#peek() === '}') this.#advance();
      return;
    }
    this.#scalar();
  }

  /** A number, boolean or date: up to the next separator. */
  #scalar(): void {
    while (!this.#done() && !/[,\]}\n#]/.test(this.#peek())) this.#advance();
  }

  #recordKey(base: readonly (string | number)[], k: readonly string[], line: number): void {
    for (let n = 1; n <= k.length; n++) this.#record([...base, ...k.slice(0, n)], line);
  }

  /** A header's key path with the current element index after each array of tables it crosses. */
  #resolve(k: readonly string[]): (string | number)[] {
    const out: (string | number)[] = [];
    for (const part of k) {
      out.push(part);
      const idx = this.#arrays.get(keyOf(out));
      if (idx !== undefined) out.push(idx);
    }
    return out;
  }

  scan(): void {
    let table: (string | number)[] = [];
    while (!this.#done()) {
      this.#skipBlank();
      if (this.#done()) return;
      const line = this.#line;
      if (this.#peek() === '[') {
        const isArray = this.#peek(1) === '[';
        this.#advance();
        if (isArray) this.#advance();
        const k = this.#key();
        if (k === undefined) return;
        if (isArray) {
          const parent = this.#resolve(k.slice(0, -1));
          const own = keyOf([...parent, k[k.length - 1] as string]);
          const index = (this.#arrays.get(own) ?? -1) + 1;
          this.#arrays.set(own, index);
          table = [...parent, k[k.length - 1] as string, index];
        } else {
          table = this.#resolve(k);
        }
        for (let n = 1; n <= table.length; n++) this.#record(table.slice(0, n), line);
        this.#skipComment();
        continue;
      }
      const k = this.#key();
      if (k === undefined) return;
      this.#recordKey(table, k, line);
      this.#skipSpaces();
      if (this.#peek() !== '=') return;
      this.#advance();
      this.#value([...table, ...k], 0);
      this.#skipSpaces();
      if (this.#peek() === '#') this.#skipComment();
    }
  }
}

/**
 * Locates the keys of `text`.
 * @example locateTomlKeys('[relay]\nports = "1-2"\n').lineOf(['relay', 'ports']) === 2
 */
export function locateTomlKeys(text: string): TomlKeyLines {
  const scanner = new Scanner(text.length > TOML_LOCATE_MAX_CHARS ? '' : text);
  scanner.scan();
  const lines = scanner.lines;
  return {
    lineOf(path: KeyPath): number | undefined {
      const parts = path.filter((p): p is string | number => typeof p !== 'symbol');
      for (let n = parts.length; n > 0; n--) {
        const hit = lines.get(keyOf(parts.slice(0, n)));
        if (hit !== undefined) return hit;
      }
      return undefined;
    },
  };
}
