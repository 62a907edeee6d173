/**
 * The delay line's process (started inside a lab host by delay-line.ts): holds two TAP devices and
 * copies Ethernet frames between them, each frame released a fixed delay after it was read, in both
 * directions (so a round trip through it takes 2 x the delay). The lab side bridges one TAP (the
 * "line" end) with the host's link and moves the host's address onto the other (the "host" end).
 *
 *   node delay-line-process.js '{"hostTap":"dl-host","lineTap":"dl-line","delayMs":10,"maxFrames":4096,"maxBytes":4194304,"lifetimeMs":600000}'
 *
 * Each TAP fd is waited on in the libuv threadpool (src/native/wake-poll.ts: poll(2) on the fd and a
 * wake-up eventfd, so stopping never waits for a blocked poll) and drained on the main thread with
 * non-blocking read(2); one DelayQueue (delay-queue.ts) per direction, one timer for each queue's
 * head. Bounded: frames and bytes per queue (beyond: dropped and counted), a lifetime, and it stops
 * when its parent is gone, on SIGTERM/SIGINT/SIGHUP, and on any error. Prints one JSON line
 * `{"ready":true}` once both TAPs exist, and `{"stopped":REASON,"toLine":STATS,"toHost":STATS,...}` at the end.
 */
import { performance } from 'node:perf_hooks';
import { libc, type Libc } from '../../src/native/libc.js';
import { EFD_CLOEXEC, EFD_NONBLOCK, Errno, POLLFD_SIZE } from '../../src/native/socket-abi.js';
import { WakePoll } from '../../src/native/wake-poll.js';
import { DelayQueue, type DelayQueueStats } from './delay-queue.js';
import { openTap } from './tap-device.js';

/** What delay-line.ts passes (validated here: the process trusts no argument it cannot bound). */
export interface DelayLineProcessConfig {
  readonly hostTap: string;
  readonly lineTap: string;
  readonly delayMs: number;
  readonly maxFrames: number;
  readonly maxBytes: number;
  readonly lifetimeMs: number;
}

/** One read(2) of a TAP returns one frame: at most the MTU plus the Ethernet header; 64 KiB covers any MTU. */
const FRAME_BUFFER_SIZE = 65_536;
/** Frames read per wake-up before yielding to the event loop (as fd-datagram-endpoint.ts's DRAIN_BATCH). */
const DRAIN_BATCH = 64;
/**
 * Node's timers have 1 ms resolution on a cached loop clock, so a timer set for the head's due time
 * fires up to ~1 ms late (measured: 20 ms line, 22-23 ms RTT). The head timer is therefore set
 * HEAD_EARLY_MS early and the rest (at most MAX_BLOCK_MS) is slept on the main thread with
 * Atomics.wait (a futex wait with microsecond resolution, no spinning) before the release.
 */
const HEAD_EARLY_MS = 1;
const MAX_BLOCK_MS = 2;
/** How often the process looks whether its parent (the lab) is still there. */
const PARENT_CHECK_MS = 500;
/** Bound of the orderly stop (closing the polls) before the process exits regardless. */
const STOP_BOUND_MS = 2_000;
/** Upper bounds of the arguments. */
const MAX_DELAY_MS = 1_000;
const MAX_LIFETIME_MS = 3_600_000;
const MAX_FRAMES = 65_536;
const MAX_BYTES = 64 * 1024 * 1024;

/** The cell Atomics.wait sleeps on (nobody notifies it: the wait always runs to its timeout). */
const BLOCK_CELL = new Int32Array(new SharedArrayBuffer(4));

interface DirectionStats extends DelayQueueStats {
  /** Frames read from the source TAP, and write(2)s that failed on the destination TAP. */
  readonly read: number;
  readonly writeErrors: number;
}

/** One direction: frames read from `from`, delayed, written to `to`. */
class Direction {
  readonly #c: Libc;
  readonly #poller: WakePoll;
  readonly #queue: DelayQueue;
  readonly #scratch = Buffer.alloc(FRAME_BUFFER_SIZE);
  #timer: NodeJS.Timeout | undefined;
  #read = 0;
  #writeErrors = 0;
  #stopped = false;

  constructor(
    c: Libc,
    readonly from: number,
    readonly to: number,
    cfg: DelayLineProcessConfig,
    readonly fail: (err: Error) => void,
  ) {
    this.#c = c;
    this.#queue = new DelayQueue({ delayMs: cfg.delayMs, maxFrames: cfg.maxFrames, maxBytes: cfg.maxBytes });
    const wake = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) throw new Error(`eventfd failed: errno ${c.errno()}`);
    const pollFds = Buffer.alloc(2 * POLLFD_SIZE);
    this.#poller = new WakePoll(c, from, wake, { ptr: pollFds, bytes: pollFds });
  }

  start(): void {
    this.#poll();
  }

  stats(): DirectionStats {
    return { ...this.#queue.stats(), read: this.#read, writeErrors: this.#writeErrors };
  }

  /** Stops reading and releasing; closes the source fd once no poll can still see it. */
  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    return this.#poller.close();
  }

  #poll(): void {
    this.#poller.arm(-1, (err, result) => {
      if (err !== null && err !== undefined) return this.fail(err instanceof Error ? err : new Error(`poll: ${String(err)}`));
      if (result < 0) {
        const e = this.#c.errno();
        if (e !== Errno.EINTR) return this.fail(new Error(`poll failed: errno ${e}`));
      } else this.#drain();
      setImmediate(() => this.#poll());
    });
  }

  #drain(): void {
    for (let i = 0; i < DRAIN_BATCH && !this.#stopped; i++) {
      const n = this.#c.read(this.from, this.#scratch, this.#scratch.length);
      if (n < 0) {
        const e = this.#c.errno();
        if (e !== Errno.EAGAIN && e !== Errno.EINTR) this.fail(new Error(`read from TAP failed: errno ${e}`));
        return;
      }
      this.#read++;
      const wasEmpty = this.#queue.nextDueAt() === undefined;
      if (this.#queue.push(Buffer.from(this.#scratch.subarray(0, n)), performance.now()) && wasEmpty) this.#armHead();
    }
  }

  /** One timer for the queue's head: a constant delay keeps the FIFO in due order. */
  #armHead(): void {
    const due = this.#queue.nextDueAt();
    if (due === undefined || this.#stopped) return;
    this.#timer = setTimeout(() => this.#release(), Math.max(0, due - performance.now() - HEAD_EARLY_MS));
  }

  #release(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const due = this.#queue.nextDueAt();
    if (due === undefined) return;
    let now = performance.now();
    // Too early by more than the block bound (the loop's clock lagged): wait on a timer again.
    if (due - now > MAX_BLOCK_MS) return this.#armHead();
    if (due > now) {
      Atomics.wait(BLOCK_CELL, 0, 0, due - now);
      now = performance.now();
    }
    for (const f of this.#queue.due(now)) {
      if (this.#c.write(this.to, f, f.length) < 0) this.#writeErrors++;
    }
    this.#armHead();
  }
}

function parseConfig(arg: string | undefined): DelayLineProcessConfig {
  const v = JSON.parse(arg ?? '') as Partial<Record<keyof DelayLineProcessConfig, unknown>>;
  const name = (x: unknown, what: string): string => {
    if (typeof x !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(x)) throw new Error(`${what}: an interface name of 1-15 characters`);
    return x;
  };
  const num = (x: unknown, what: string, min: number, max: number, integer: boolean): number => {
    if (typeof x !== 'number' || !(x >= min && x <= max) || (integer && !Number.isInteger(x))) throw new Error(`${what}: ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
    return x;
  };
  return {
    hostTap: name(v.hostTap, 'hostTap'),
    lineTap: name(v.lineTap, 'lineTap'),
    delayMs: num(v.delayMs, 'delayMs', 0, MAX_DELAY_MS, false),
    maxFrames: num(v.maxFrames, 'maxFrames', 1, MAX_FRAMES, true),
    maxBytes: num(v.maxBytes, 'maxBytes', 1, MAX_BYTES, true),
    lifetimeMs: num(v.lifetimeMs, 'lifetimeMs', 1, MAX_LIFETIME_MS, true),
  };
}

function main(): void {
  const cfg = parseConfig(process.argv[2]);
  const c = libc();
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const parent = process.ppid;
  const hostFd = openTap(cfg.hostTap);
  const lineFd = openTap(cfg.lineTap);
  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = (reason: string, code = 0): void => {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearInterval(t);
    setTimeout(() => process.exit(code === 0 ? 3 : code), STOP_BOUND_MS).unref();
    const cpu = process.cpuUsage(cpu0);
    const report = { stopped: reason, toLine: toLine.stats(), toHost: toHost.stats(), ranMs: Math.round(performance.now() - started), cpuMs: (cpu.user + cpu.system) / 1000 };
    void Promise.all([toLine.stop(), toHost.stop()]).then(() => {
      process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(code));
    });
  };
  const fail = (err: Error): void => {
    process.stderr.write(`delay line: ${err.message}\n`);
    stop(`error: ${err.message}`, 1);
  };
  // Each WakePoll owns (and closes) the fd it reads; the other direction only writes to it.
  const toLine = new Direction(c, hostFd, lineFd, cfg, fail);
  const toHost = new Direction(c, lineFd, hostFd, cfg, fail);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => stop(sig));
  timers.push(setTimeout(() => stop('lifetime'), cfg.lifetimeMs));
  timers.push(setInterval(() => process.ppid !== parent && stop('parent gone'), PARENT_CHECK_MS));
  toLine.start();
  toHost.start();
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
}

try {
  main();
} catch (err) {
  process.stderr.write(`delay line: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
