/**
 * "Did you mean": the known key nearest to a misspelt one by edit distance (optimal string
 * alignment: one insertion, deletion, substitution or swap of two neighbours each, so "mdoe" is
 * one edit from "mode"), compared without case. Pure.
 */

/** Keys longer than this are not compared (a configuration key is a few words). */
export const NEAREST_KEY_MAX_LENGTH = 64;

/** Edit distance between `a` and `b` (both at most {@link NEAREST_KEY_MAX_LENGTH} long). */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * The known key nearest to `unknown`, when it is close enough to be a slip: at most a third of
 * the longer key's length in edits (at least 1), as `git` and `cargo` suggest. Ties go to the
 * first in `known`.
 * @example nearestKey('idle_timout', ['ports', 'idle_timeout']) === 'idle_timeout'
 */
export function nearestKey(unknown: string, known: readonly string[]): string | undefined {
  if (unknown.length > NEAREST_KEY_MAX_LENGTH) return undefined;
  const u = unknown.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    if (k.length > NEAREST_KEY_MAX_LENGTH) continue;
    const d = editDistance(u, k.toLowerCase());
    const limit = Math.max(1, Math.floor(Math.max(u.length, k.length) / 3));
    if (d <= limit && d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}
