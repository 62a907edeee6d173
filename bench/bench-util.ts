/**
 * Shared helpers of the benchmarks in bench/ (issue 4): statistics, formatting, a silent relay
 * logger, bounded waits and free loopback ports. No benchmark logic here.
 */
import net from 'node:net';
import type { RelayLogger } from '../src/gateway/relay/relay-types.js';

export const KIB = 1024;
export const MIB = 1024 * 1024;

/** The q-quantile (0..1) of numbers, nearest rank; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Fixed-point number for a report line. */
export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** A relay logger that drops everything (benchmarks measure the relay, not the log sink). */
export const silentRelayLogger: RelayLogger = {
  info() {},
  warn() {},
  error() {},
  child() {
    return silentRelayLogger;
  },
};

/** Milliseconds since `t0`, a `process.hrtime.bigint()` reading. */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects after `ms` with `what` in the message; the timer does not keep the process alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Polls `probe` every `everyMs` until it returns true, at most `ms`; false on timeout. */
export async function pollUntil(probe: () => boolean | Promise<boolean>, ms: number, everyMs = 20): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await probe()) return true;
    await sleep(everyMs);
  }
  return false;
}

/** A TCP port free on `host` right now (the kernel's pick; a small race remains). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, host, () => resolve());
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** True when a TCP connect to host:port succeeds (the connection is closed at once). */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
