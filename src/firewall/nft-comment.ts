/**
 * The one way text becomes an nftables comment. Comments carry call and mapping ids and, for PCP, a
 * peer-chosen DESCRIPTION (RFC 7220); rules go in as JSON, but `nft list ruleset` prints a comment
 * between double quotes with no escaping, so a `"` (or a newline, or a backslash) in one makes the
 * saved ruleset unloadable with `nft -f`. Every character outside a small safe set becomes `_`, and
 * the result is cut to what the kernel keeps.
 */

/** Longest comment nft accepts (libnftnl NFTNL_UDATA_COMMENT_MAXLEN 128, including the NUL). */
export const NFT_COMMENT_MAX = 127;

/** Characters that survive a ruleset save and reload inside nft's quoted string, unescaped. */
const UNSAFE = /[^A-Za-z0-9 .,:_\-+=/@()[\]]/g;

/** `text` restricted to the safe set and cut to at most `max` (≤ NFT_COMMENT_MAX) characters. */
export function nftComment(text: string, max: number = NFT_COMMENT_MAX): string {
  // One output character per UTF-16 unit (a surrogate half is unsafe too), so cutting first is exact.
  return text.slice(0, Math.max(0, Math.min(max, NFT_COMMENT_MAX))).replace(UNSAFE, '_');
}
