/**
 * Pure shaping of one audit record: sanitised, bounded, JSON-serialisable. Peer-supplied text
 * (names, ttys) is rendered in caret notation so the log is safe to print on a terminal.
 */

/** Longest audit line in bytes (including the newline); beyond, optional fields are dropped. */
export const AUDIT_MAX_LINE_BYTES = 4096;
/** Longest string value kept in a field (characters, after sanitising). */
export const AUDIT_MAX_STRING = 256;
/** Deepest nesting of objects/arrays kept; deeper values become "[…]". */
export const AUDIT_MAX_DEPTH = 3;
/** Most keys per object / items per array kept. */
export const AUDIT_MAX_KEYS = 32;

/**
 * A code unit that sanitizeAuditString rewrites: C0, DEL, C1, or a surrogate (a lone one becomes
 * U+FFFD; a valid pair only takes the slow path). Strings without one, and shorter than the bound,
 * are returned as they are: the common case (names, addresses) costs one native regexp test, not a
 * per-character loop, on the gateway's forwarding path.
 */
const NEEDS_REWRITE = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

/** C0, DEL and C1 controls → caret notation (`^[`, `^?`, `M-^[`); strings bounded. */
export function sanitizeAuditString(s: string): string {
  if (s.length < AUDIT_MAX_STRING && !NEEDS_REWRITE.test(s)) return s;
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20) out += `^${String.fromCharCode(cp + 0x40)}`;
    else if (cp === 0x7f) out += '^?';
    else if (cp >= 0x80 && cp < 0xa0) out += `M-^${String.fromCharCode(cp - 0x40)}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd';
    else out += ch;
    if (out.length >= AUDIT_MAX_STRING) return `${out.slice(0, AUDIT_MAX_STRING)}…`;
  }
  return out;
}

function sanitizeValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return sanitizeAuditString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only symbols and functions reach here, never plain objects
  if (typeof v !== 'object') return sanitizeAuditString(String(v));
  if (depth >= AUDIT_MAX_DEPTH) return '[…]';
  if (Array.isArray(v)) return v.slice(0, AUDIT_MAX_KEYS).map((x) => sanitizeValue(x, depth + 1) ?? null);
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v)) {
    if (n++ >= AUDIT_MAX_KEYS) break;
    const sv = sanitizeValue(x, depth + 1);
    if (sv !== undefined) out[sanitizeAuditString(k)] = sv;
  }
  return out;
}

/**
 * The audit line for one record: JSON with `ts`, `event`, `callId` first, then the other fields
 * sanitised, and a newline. If it would exceed AUDIT_MAX_LINE_BYTES, the largest extra fields are
 * dropped (listed under `truncated`) until it fits.
 */
export function formatAuditLine(ts: string, rec: { event: string; callId: string; [k: string]: unknown }): string {
  const { event, callId, ...rest } = rec;
  const extra = sanitizeValue(rest, 0) as Record<string, unknown>;
  delete extra['ts'];
  const out: Record<string, unknown> = { ts, event: sanitizeAuditString(event), callId: sanitizeAuditString(callId), ...extra };
  let json = JSON.stringify(out);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short lines skip the byte count.
  const fits = (): boolean => (json.length * 3 < AUDIT_MAX_LINE_BYTES ? true : Buffer.byteLength(json) + 1 <= AUDIT_MAX_LINE_BYTES);
  const dropped: string[] = [];
  while (!fits()) {
    let biggest: string | undefined;
    let biggestLen = -1;
    for (const k of Object.keys(out)) {
      if (k === 'ts' || k === 'event' || k === 'callId' || k === 'truncated') continue;
      const len = JSON.stringify(out[k]).length;
      if (len > biggestLen) [biggest, biggestLen] = [k, len];
    }
    if (biggest === undefined) break;
    delete out[biggest];
    dropped.push(biggest);
    out['truncated'] = dropped.slice(0, 8);
    json = JSON.stringify(out);
  }
  return `${json}\n`;
}
