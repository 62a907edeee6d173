/**
 * JSON for a terminal (issue 18: `talkgate status --json` printed a raw U+009B CSI it received).
 * JSON.stringify escapes C0 controls but leaves DEL, C1 controls, bidi overrides and every other
 * non-ASCII char raw; here each char outside printable ASCII becomes a `\uXXXX` escape (as `jq -a`),
 * which only ever occurs inside JSON strings, so the result parses back to the same value.
 */

/** `JSON.stringify(value, null, indent)` with every char outside U+0020–U+007E escaped. */
export function stringifyAsciiJson(value: unknown, indent = 2): string {
  const text = JSON.stringify(value, null, indent);
  // Outside strings JSON.stringify emits only ASCII and its own newlines and spaces.
  return text.replace(/[^\n\u0020-\u007e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
