/**
 * Pure rendering of a gateway's /status JSON as the `talkgate status` table. Tolerant of extra
 * fields; peer-supplied text is sanitised (src/shared/sanitize.ts: printable ASCII only, so no
 * C0/C1 control or bidi override reaches the terminal) and cells are bounded.
 */
import { z } from 'zod';
import { sanitizeText } from '../../shared/sanitize.js';

/** Widest cell printed; longer values end with "…". */
export const STATUS_MAX_CELL = 40;

const callSchema = z.looseObject({
  id: z.string().optional(),
  callId: z.string().optional(),
  direction: z.string().optional(),
  caller: z.string().optional(),
  callee: z.string().optional(),
  state: z.string().optional(),
  /** Age in ms, or `startedAt` (epoch ms) from which the age is computed. */
  ageMs: z.number().optional(),
  startedAt: z.number().optional(),
  /** ISO time the call entered its current state (what the gateway's GatewayStatus carries). */
  since: z.string().optional(),
  relayPort: z.number().nullable().optional(),
});

/** The part of GatewayStatus the table shows: `calls`, an array of live calls. */
export const statusSchema = z.looseObject({ calls: z.array(callSchema) });
export type StatusForTable = z.infer<typeof statusSchema>;

export const STATUS_COLUMNS = ['ID', 'DIRECTION', 'CALLER', 'CALLEE', 'STATE', 'AGE', 'RELAY PORT'] as const;

/** Human age: 42s, 3m07s, 2h05m. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function cell(v: string | undefined): string {
  const s = sanitizeText(v ?? '-');
  return s.length > STATUS_MAX_CELL ? `${s.slice(0, STATUS_MAX_CELL - 1)}…` : s;
}

function age(c: z.infer<typeof callSchema>, nowMs: number): string {
  if (c.ageMs !== undefined) return formatAge(c.ageMs);
  if (c.startedAt !== undefined) return formatAge(nowMs - c.startedAt);
  const since = c.since === undefined ? NaN : Date.parse(c.since);
  return Number.isFinite(since) ? formatAge(nowMs - since) : '-';
}

/** Renders the table (header + one line per call), or a one-line note when there are none. */
export function renderStatusTable(status: StatusForTable, nowMs: number): string {
  if (status.calls.length === 0) return 'no live calls\n';
  const rows = status.calls.map((c) => [
    cell(c.id ?? c.callId),
    cell(c.direction),
    cell(c.caller),
    cell(c.callee),
    cell(c.state),
    age(c, nowMs),
    c.relayPort === undefined || c.relayPort === null ? '-' : String(c.relayPort),
  ]);
  const all = [[...STATUS_COLUMNS], ...rows];
  // A reduce, not Math.max(...rows): spreading a long call list overflowed the stack (issue 18).
  const widths = STATUS_COLUMNS.map((_, i) => all.reduce((w, r) => Math.max(w, r[i]!.length), 0));
  return all.map((r) => `${r.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}
