/**
 * UDP round-trip times between two lab hosts: a small echo program in one host (`node -e`), and
 * in the other a client that sends one datagram at a time and waits for its echo (or a per-probe
 * timeout) before the next. Bounded in count and time; traffic only between lab addresses.
 */
import type { Lab } from './lab.js';
import { waitUntil } from './proc.js';

/** The echo's port (any free port in the lab's namespaces; the lab's own services use < 1024 and 42000+). */
const ECHO_PORT = 7007;
/** A probe not answered within this long counts as lost. */
const PROBE_TIMEOUT_MS = 1_000;
const MAX_PROBES = 1_000;

export interface RttResult {
  /** Round-trip times of the answered probes, ms, in sending order. */
  readonly samples: number[];
  readonly lost: number;
  /** Of the samples (NaN without any): median, 90th percentile (nearest rank), extremes. */
  readonly p50: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

/** "p50 … ms, p90 …, min …, max … (n probes, k lost)". */
export function rttLine(r: RttResult): string {
  return `p50 ${r.p50.toFixed(2)} ms, p90 ${r.p90.toFixed(2)}, min ${r.min.toFixed(2)}, max ${r.max.toFixed(2)} (${r.samples.length} probes, ${r.lost} lost)`;
}

function rank(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const ECHO_JS = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(Number(process.argv[1]), process.argv[2], () => process.stdout.write('echo ready\\n'));
`;

const CLIENT_JS = `
const a = JSON.parse(process.argv[1]);
const s = require('node:dgram').createSocket('udp4');
const samples = []; let lost = 0; let seq = 0; let pending; let t0 = 0; let timer;
function next() {
  if (seq >= a.count) { s.close(); process.stdout.write(JSON.stringify({ samples, lost })); return; }
  pending = seq++;
  const b = Buffer.alloc(a.size); b.writeUInt32BE(pending, 0);
  t0 = performance.now();
  s.send(b, a.port, a.to);
  timer = setTimeout(() => { lost++; pending = undefined; setTimeout(next, a.gapMs); }, a.timeoutMs);
}
s.on('message', (m) => {
  if (pending === undefined || m.length < 4 || m.readUInt32BE(0) !== pending) return;
  samples.push(performance.now() - t0); pending = undefined; clearTimeout(timer); setTimeout(next, a.gapMs);
});
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
s.bind(0, a.from, next);
`;

/**
 * `count` UDP round trips from `fromHost` (bound to `fromAddr`) to an echo on `toAddr` in `toHost`,
 * `gapMs` apart, each datagram `size` bytes.
 */
export async function udpRtt(lab: Lab, o: { fromHost: string; fromAddr: string; toHost: string; toAddr: string; count: number; gapMs?: number; size?: number }): Promise<RttResult> {
  const count = Math.max(1, Math.min(MAX_PROBES, o.count));
  const echo = lab.spawn(o.toHost, [process.execPath, '-e', ECHO_JS, String(ECHO_PORT), o.toAddr]);
  try {
    await waitUntil('udp echo', () => {
      if (!echo.running) throw new Error(`udp echo exited: ${echo.stderr}`);
      return echo.stdout.includes('echo ready');
    }, 10_000, 20);
    const arg = { from: o.fromAddr, to: o.toAddr, port: ECHO_PORT, count, gapMs: o.gapMs ?? 10, size: Math.max(4, o.size ?? 64), timeoutMs: PROBE_TIMEOUT_MS };
    const r = await lab.exec(o.fromHost, [process.execPath, '-e', CLIENT_JS, JSON.stringify(arg)], { timeoutMs: count * (PROBE_TIMEOUT_MS + arg.gapMs) + 10_000 });
    const raw = JSON.parse(r.stdout) as { samples: number[]; lost: number };
    const sorted = [...raw.samples].sort((x, y) => x - y);
    const mid = sorted.length / 2;
    const p50 = sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return { samples: raw.samples, lost: raw.lost, p50, p90: rank(sorted, 0.9), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
  } finally {
    await echo.kill();
  }
}
