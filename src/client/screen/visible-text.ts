/**
 * Makes a string safe to print on a terminal: C0, DEL and C1 controls become visible (`^[`, `^?`,
 * `\x9b`). Used for our own status messages, which may quote names typed on the command line.
 */
export function visibleText(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20) out += `^${String.fromCharCode(cp + 0x40)}`;
    else if (cp === 0x7f) out += '^?';
    else if (cp >= 0x80 && cp <= 0x9f) out += `\\x${cp.toString(16)}`;
    else out += ch;
  }
  return out;
}
