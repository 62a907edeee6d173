/**
 * Rounds, medians, spread and verdicts of every benchmark (issue 17): "CPU per unit is the primary
 * verdict, wall-clock throughput the secondary one; at least 5 interleaved rounds; print median and
 * spread; a verdict says 'not met' when the median misses, whatever the best round did".
 * Pure formatting, no I/O besides the returned strings; bench scripts print them.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Fewest interleaved rounds a verdict may rest on (issue 17). */
export const MIN_ROUNDS = 5;

export interface RoundSummary {
  median: number;
  min: number;
  max: number;
  /** (max - min) / |median|, in percent. */
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
  return { median, min, max, spreadPct: median === 0 ? NaN : ((max - min) / Math.abs(median)) * 100, rounds: s.length };
}

function num(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** "  relay CPU per MiB: median 1.23 ms (min 1.10, max 1.40, spread 24 %, 5 rounds)" */
export function roundsLine(label: string, values: readonly number[], unit: string, digits = 2): string {
  const r = summarize(values);
  return `  ${label}: median ${num(r.median, digits)} ${unit} (min ${num(r.min, digits)}, max ${num(r.max, digits)}, spread ${num(r.spreadPct, 0)} %, ${r.rounds} rounds)`;
}

/**
 * Which verdict a line states. 'primary (wall clock)' only where the target itself is a time
 * (call set-up, the added time per hole operation): no CPU target exists there, and the bench
 * prints CPU per unit beside it; 'primary (memory)' where the target is memory per call.
 */
export type VerdictKind = 'primary (CPU)' | 'primary (memory)' | 'primary (wall clock)' | 'secondary (wall clock)' | 'regression check';

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

/**
 * "  VERDICT secondary (wall clock) x: not available (sch_netem missing)": a verdict that could not
 * be measured on this machine is said so, never left out or counted as met.
 */
export function unavailableLine(kind: VerdictKind, what: string, op: '>=' | '<=', target: number, reason: string): string {
  return `  VERDICT ${kind} ${what}: not available (target ${op} ${target}): ${reason}`;
}

/** Per-round differences a[i] - b[i] of two interleaved series. */
export function differences(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x - b[i]!);
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

/**
 * CPU time (ms) a process has used so far at nanosecond resolution: the sum over its threads of
 * /proc/PID/task/TID/schedstat's first field (time on a CPU, ns; proc(5)). /proc/PID/stat counts
 * in 10 ms ticks, too coarse for a few calls' worth of work. Falls back to procCpuMs when absent.
 */
export function procCpuMsFine(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // a thread that ended meanwhile
      }
    }
    return ns / 1e6;
  } catch {
    return procCpuMs(pid);
  }
}

/** CPU time (ms, schedstat resolution) of a process and all its live descendants (a gateway and its worker), from /proc. */
export function treeCpuMs(pid: number): number {
  let total = 0;
  const seen = new Set<number>();
  const walk = (p: number, depth: number): void => {
    if (seen.has(p) || depth > 8) return;
    seen.add(p);
    const own = procCpuMsFine(p);
    if (Number.isFinite(own)) total += own;
    for (const child of childPids(p)) walk(child, depth + 1);
  };
  if (!Number.isFinite(procCpuMsFine(pid))) return NaN;
  walk(pid, 0);
  return total;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number);
  } catch {
    return [];
  }
}

/** Kernel CPU time summed over all CPUs, in clock ticks (USER_HZ), from /proc/stat. */
export interface KernelTicks {
  cpus: number;
  system: number;
  irq: number;
  softirq: number;
}

/**
 * Sums the per-CPU lines ("cpu0 user nice system idle iowait irq softirq ...", proc(5)) of a
 * /proc/stat text; the aggregate "cpu " line is not counted twice.
 */
export function parseProcStat(text: string): KernelTicks {
  const t: KernelTicks = { cpus: 0, system: 0, irq: 0, softirq: 0 };
  for (const line of text.split('\n')) {
    const m = /^cpu\d+\s+(.*)$/.exec(line);
    if (m === null) continue;
    const f = m[1]!.trim().split(/\s+/).map(Number);
    t.cpus++;
    t.system += f[2] ?? 0;
    t.irq += f[5] ?? 0;
    t.softirq += f[6] ?? 0;
  }
  return t;
}

/** The machine's kernel CPU time so far (ms, all CPUs): softirq, and system + irq beside it. */
export function kernelCpuMs(): { softirq: number; systemIrq: number; cpus: number } {
  const t = parseProcStat(readFileSync('/proc/stat', 'utf8'));
  const ms = 1000 / clockTicks();
  return { softirq: t.softirq * ms, systemIrq: (t.system + t.irq) * ms, cpus: t.cpus };
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
