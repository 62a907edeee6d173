import { test } from 'node:test';
import assert from 'node:assert/strict';
import { differences, parseProcStat, procCpuMsFine, ratios, roundsLine, summarize, treeCpuMs, unavailableLine, verdictLine } from './verdict.js';

test('summarize() gives the median, min, max and spread of rounds', () => {
  assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, spreadPct: 100, rounds: 3 });
  assert.equal(summarize([1, 2, 3, 4]).median, 2.5);
});

test('verdictLine() says not met when the median misses, whatever the best round did', () => {
  assert.match(verdictLine('primary (CPU)', 'x', [0.5, 0.6, 0.7, 0.9, 0.95], '>=', 0.8), /median 0\.70 .*: not met$/);
  assert.match(verdictLine('primary (CPU)', 'x', [0.85, 0.9, 0.81, 0.7, 0.95], '>=', 0.8), /: met$/);
  assert.match(verdictLine('regression check', 'x', [0.5, 0.5], '<=', 1), /not met \[only 2 rounds/);
});

test('roundsLine() and ratios() format interleaved series', () => {
  assert.deepEqual(ratios([2, 4], [1, 2]), [2, 2]);
  assert.match(roundsLine('a', [1, 2, 3, 4, 5], 'ms'), /^ {2}a: median 3\.00 ms \(min 1\.00, max 5\.00, spread 133 %, 5 rounds\)$/);
});

test('differences() subtracts two interleaved series round by round', () => {
  assert.deepEqual(differences([0.5, 0.75], [0.25, 0.5]), [0.25, 0.25]);
});

test('unavailableLine() says not available with the reason, never met', () => {
  const line = unavailableLine('secondary (wall clock)', 'gateway / direct at 20 ms RTT', '<=', 1.05, 'sch_netem missing');
  assert.match(line, /^ {2}VERDICT secondary \(wall clock\) gateway \/ direct at 20 ms RTT: not available \(target <= 1\.05\): sch_netem missing$/);
  assert.doesNotMatch(line, /: met/);
});

test('parseProcStat() sums system, irq and softirq over the per-CPU lines only', () => {
  const text = 'cpu  30 0 12 100 0 2 8 0 0 0\ncpu0 10 0 5 50 0 1 3 0 0 0\ncpu1 20 0 7 50 0 1 5 0 0 0\nintr 1 2 3\nsoftirq 9 9 9\n';
  assert.deepEqual(parseProcStat(text), { cpus: 2, system: 12, irq: 2, softirq: 8 });
});

test('procCpuMsFine() and treeCpuMs() count this process at sub-tick resolution, and NaN for a process that is gone', () => {
  const a = procCpuMsFine(process.pid);
  const end = performance.now() + 3;
  while (performance.now() < end) Math.sqrt(Math.random());
  const b = procCpuMsFine(process.pid);
  assert.ok(b - a > 0 && b - a < 1000, `${a} -> ${b}`);
  assert.ok(treeCpuMs(process.pid) >= b);
  assert.ok(Number.isNaN(treeCpuMs(2 ** 30)), 'a process that is gone has no CPU figure, not 0');
});
