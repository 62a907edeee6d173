/**
 * Peer-supplied text made safe for a terminal or a log line (the historic talk "flash" attack
 * wrote escape sequences into the callee's tty through l_name). Only printable ASCII survives;
 * everything else becomes visible: C0 controls and DEL in caret notation (ESC → `^[`,
 * DEL → `^?`, as OpenBSD talk's display.c), other bytes as `\xhh`, chars above U+00FF as `\u{hhhh}`.
 */

const CARET_DEL = '^?';

function escapeCode(c: number): string {
  if (c >= 0x20 && c <= 0x7e) return String.fromCharCode(c);
  if (c < 0x20) return `^${String.fromCharCode(c + 0x40)}`;
  if (c === 0x7f) return CARET_DEL;
  if (c <= 0xff) return `\\x${c.toString(16).padStart(2, '0')}`;
  return `\\u{${c.toString(16).padStart(4, '0')}}`;
}

/**
 * Printable-ASCII rendering of `input`. A string is read as latin1 (one char per byte; a char
 * above 0xFF is escaped by its code point, a lone surrogate as itself); a Uint8Array byte by byte.
 * @example sanitizeText('\x1b]0;pwned\x07') === '^[]0;pwned^G'
 */
export function sanitizeText(input: string | Uint8Array): string {
  let out = '';
  if (typeof input === 'string') {
    for (const ch of input) out += escapeCode(ch.codePointAt(0) as number);
  } else {
    for (const b of input) out += escapeCode(b);
  }
  return out;
}

/** True when `s` is a non-empty login/tty-like name of visible ASCII only (0x21–0x7E). */
export function isPrintableName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
