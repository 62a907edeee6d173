/**
 * The reference "talk-like text" of the relay benchmark (bench/relay-throughput.ts) and of the
 * sanitiser's cost test (issue 17): what a long talk conversation looks like on the wire. Pure.
 */

/** Size of one block of reference text. */
export const TALK_TEXT_BLOCK_BYTES = 256 * 1024;

/**
 * TALK_TEXT_BLOCK_BYTES (or a little more) of talk-like text: printable ASCII lines, one in eight
 * with UTF-8 words (2- and 3-byte sequences), CR LF line ends, a TAB per line and a BS in one line
 * of sixteen. Nothing in it needs sanitising.
 */
export function talkLikeText(): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < TALK_TEXT_BLOCK_BYTES; i++) {
    const words = i % 8 === 3 ? 'héllo wörld → ça marche ✓ naïve café' : 'the quick brown fox jumps over the lazy dog';
    const line = `${String(i).padStart(6, '0')}\t${words} ${i % 16 === 5 ? 'oops\b' : ''}0123456789\r\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''), 'utf8');
}

/**
 * Escape-heavy content of the same size (issue 18's hostile stream): SGR colour changes, an OSC
 * title, raw and UTF-8 encoded C1 CSI, unwanted C0, between short words. Most of it is rewritten.
 */
export function escapeHeavyText(): Buffer {
  const unit = Buffer.from('\x1b[31mred\x1b[0m \x1b]0;title\x07\x9b2J\xc2\x9bx\x01\x02 ', 'latin1');
  const out = Buffer.alloc(TALK_TEXT_BLOCK_BYTES);
  for (let i = 0; i < out.length; i++) out[i] = unit[i % unit.length]!;
  return out;
}
