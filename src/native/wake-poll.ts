/**
 * The receive plumbing shared by the native UDP sockets (fd-datagram-endpoint.ts, transparent/):
 * poll(2) on {socket, wake-up eventfd} runs in the libuv threadpool (koffi async call), so the event
 * loop is never blocked, and close() never waits for a blocked poll: it writes the eventfd when a
 * poll is in flight. The fds are closed (and the owner's native memory released) only once no
 * threadpool call can still see them, exactly once.
 */
import type { Libc } from './libc.js';
import { POLLFD_SIZE, POLLIN } from './socket-abi.js';

/** Memory for the two struct pollfd: a Node Buffer, or malloc'd memory (`ptr`) with a view on it. */
export interface PollFdMemory {
  readonly ptr: unknown;
  /** At least 2 * POLLFD_SIZE bytes over the same memory. */
  readonly bytes: Uint8Array;
}

/** One poll's outcome: `err` from the async call, poll's return value, revents of the socket. */
export type PollDone = (err: unknown, result: number, revents: number) => void;

export class WakePoll {
  readonly #c: Libc;
  readonly #fd: number;
  readonly #wakeFd: number;
  readonly #pollfds: PollFdMemory;
  readonly #view: DataView;
  readonly #onRelease: () => void;
  #inFlight = false;
  #released = false;
  #closed: Promise<void> | undefined;
  #resolveClosed: () => void = () => undefined;

  /**
   * Polls `fd` (owned from now on: closed on release) and `wakeFd` (an eventfd, likewise) through
   * `pollfds`; `onRelease` frees whatever else the owner keeps for the threadpool call.
   */
  constructor(c: Libc, fd: number, wakeFd: number, pollfds: PollFdMemory, onRelease: () => void = () => undefined) {
    if (pollfds.bytes.byteLength < 2 * POLLFD_SIZE) throw new RangeError('pollfd memory needs two entries');
    this.#c = c;
    this.#fd = fd;
    this.#wakeFd = wakeFd;
    this.#pollfds = pollfds;
    this.#onRelease = onRelease;
    // struct pollfd: 0 fd int, 4 events short, 6 revents short (host order, little-endian targets).
    this.#view = new DataView(pollfds.bytes.buffer, pollfds.bytes.byteOffset, 2 * POLLFD_SIZE);
    this.#view.setInt32(0, fd, true);
    this.#view.setInt16(4, POLLIN, true);
    this.#view.setInt32(POLLFD_SIZE, wakeFd, true);
    this.#view.setInt16(POLLFD_SIZE + 4, POLLIN, true);
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Starts one poll (`timeoutMs` -1: no timeout) unless one is in flight or the poll is closed.
   * `done` runs on the main thread, unless close() came first: then the fds are released instead.
   */
  arm(timeoutMs: number, done: PollDone): void {
    if (this.#inFlight || this.#closed !== undefined) return;
    this.#inFlight = true;
    this.#c.pollAsync(this.#pollfds.ptr, 2, timeoutMs, (err, result) => {
      this.#inFlight = false;
      if (this.#closed !== undefined) {
        this.#release();
        return;
      }
      done(err, result, this.#view.getInt16(6, true));
    });
  }

  /** Wakes an in-flight poll; resolves once the fds are closed. Idempotent. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    if (this.#inFlight) {
      const one = Buffer.alloc(8);
      one.writeBigUInt64LE(1n, 0);
      this.#c.write(this.#wakeFd, one, 8);
    } else {
      this.#release();
    }
    return this.#closed;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#c.close(this.#fd);
    this.#c.close(this.#wakeFd);
    this.#onRelease();
    this.#resolveClosed();
  }
}
