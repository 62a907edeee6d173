/** The one port-range syntax of talkgate's configuration files and options: `"LOW-HIGH"`. */

/** The largest TCP/UDP port. */
export const MAX_PORT = 65_535;

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Parses the one range syntax of talkgate, `"LOW-HIGH"` (inclusive, 1 <= LOW <= HIGH <= 65535),
 * as the gateway configuration writes `relay.ports = "40000-40999"`. Undefined when malformed.
 */
export function parsePortRange(text: string): PortRange | undefined {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (min < 1 || max > MAX_PORT || min > max) return undefined;
  return { min, max };
}

/** Writes a range back in the same syntax. */
export function formatPortRange(r: PortRange): string {
  return `${r.min}-${r.max}`;
}

