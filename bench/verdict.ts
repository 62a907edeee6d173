/**
 * Rounds, medians, spread and verdicts of every benchmark (issue 17): "CPU per unit is the primary
 * verdict, wall-clock throughput the secondary one; at least 5 interleaved rounds; print median and
 * spread; a verdict says 'not met' when the median misses, whatever the best round did".
 * Pure formatting, no I/O besides the returned strings; bench scripts print them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Fewest interleaved rounds a verdict may rest on (issue 17). */
export const MIN_ROUNDS = 5;

export interface RoundSummary {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, in percent. */
  spreadPct: number;
  rounds: number;
}

/** Median (mean of the two middle values for an even count), min, max and spread of per-round values. */
export function summarize(values: readonly number[]): RoundSummary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, spreadPct: NaN, rounds: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const min = s[0]!;
  const max = s[s.length - 1]!;
  return { median, min, max, spreadPct: median === 0 ? NaN : ((max - min) / median) * 100, rounds: s.length };
}

function num(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** "  relay CPU per MiB: median 1.23 ms (min 1.10, max 1.40, spread 24 %, 5 rounds)" */
export function roundsLine(label: string, values: readonly number[], unit: string, digits = 2): string {
  const r = summarize(values);
  return `  ${label}: median ${num(r.median, digits)} ${unit} (min ${num(r.min, digits)}, max ${num(r.max, digits)}, spread ${num(r.spreadPct, 0)} %, ${r.rounds} rounds)`;
}

export type VerdictKind = 'primary (CPU)' | 'secondary (wall clock)' | 'regression check';

/**
 * "  VERDICT primary (CPU) relay / socat CPU per MiB: median 0.93 (target <= 1.25): met". The
 * median of per-round values decides; fewer than MIN_ROUNDS rounds is never "met".
 */
export function verdictLine(kind: VerdictKind, what: string, values: readonly number[], op: '>=' | '<=', target: number): string {
  const r = summarize(values);
  const ok = r.rounds >= MIN_ROUNDS && (op === '>=' ? r.median >= target : r.median <= target);
  const few = r.rounds < MIN_ROUNDS ? ` [only ${r.rounds} rounds, ${MIN_ROUNDS} needed]` : '';
  return `  VERDICT ${kind} ${what}: median ${num(r.median, 2)} (target ${op} ${target}; rounds ${num(r.min, 2)}..${num(r.max, 2)}): ${ok ? 'met' : 'not met'}${few}`;
}

/** Per-round ratios a[i] / b[i] of two interleaved series. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

/** CPU time (user + system, ms) a process has used so far, from /proc/PID/stat; NaN if gone. */
export function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // proc(5): utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after "state".
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return NaN;
  }
}

let ticks: number | undefined;
/** sysconf(_SC_CLK_TCK), asked once of getconf; 100 on Linux when it cannot be asked. */
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU time (user + system, ms) this process has used so far. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The header line every benchmark prints: date and machine size, so figures can be compared. */
export function machineLine(cpus: number, note = ''): string {
  return `  measured ${new Date().toISOString().slice(0, 16)}Z on ${cpus} CPU core(s)${note === '' ? '' : `, ${note}`}`;
}
