/**
 * A UDP socket for tproxy-intercepted traffic: every datagram comes with its real source and the
 * destination the sender addressed (IP_ORIGDSTADDR), and replies can leave from any address/port
 * (sendFrom), so a client sees the answer "from the daemon it addressed".
 *
 * Receiving: socket(AF_INET, SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC) + SO_REUSEADDR + IP_TRANSPARENT
 * + IP_RECVORIGDSTADDR, bound to `address:port` (the tproxy target). The event loop is never
 * blocked (../wake-poll.ts): poll() on {socket, wake eventfd} runs in the libuv threadpool (koffi
 * async call, at most POLL_TIMEOUT_MS), and when the socket is readable the main thread drains it with
 * recvmsg(MSG_DONTWAIT), at most MAX_DATAGRAMS_PER_WAKE per wake-up. close() writes the eventfd, so
 * the poll returns at once; the fds are closed and the native memory freed only after that, so no
 * threadpool call ever sees a closed fd or freed memory. One threadpool thread is mostly occupied
 * per open socket (libuv's pool has 4 by default: keep the number of these sockets small).
 *
 * Sending (sendFrom): a short-lived socket with IP_TRANSPARENT + SO_REUSEADDR bound to the foreign
 * `from` address and port, one sendto(), close. IP_PKTINFO (ipi_spec_dst) can only set the source
 * address, not the port, which is why a per-send bound socket is used. The bind coexists with other
 * sockets on the same port only when they also set SO_REUSEADDR (this socket does; a node dgram
 * socket needs `reuseAddr: true`). The socket is never connect()ed, so the kernel's tproxy socket
 * lookup (which only considers connected sockets for established flows) never steers intercepted
 * datagrams to it.
 */
import {
  AF_INET,
  Errno,
  IP_RECVORIGDSTADDR,
  IP_TRANSPARENT,
  IOVEC_SIZE,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_TRUNC,
  MSGHDR_SIZE,
  ORIGDST_CMSG_SPACE,
  POLLERR,
  POLLFD_SIZE,
  POLLIN,
  POLLNVAL,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCKADDR_IN_SIZE,
  SOL_IP,
  SOL_SOCKET,
  SO_REUSEADDR,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  decodeMsghdrResult,
  decodeSockaddrIn,
  encodeIovec,
  encodeMsghdr,
  findOrigDstAddr,
  sockaddrIn,
  type Endpoint,
} from '../socket-abi.js';
import { WakePoll } from '../wake-poll.js';
import { libc, type Libc } from './libc.js';
import { TransparentSocketError } from './transparent-error.js';

export type { Endpoint } from '../socket-abi.js';

/** Upper bound of one poll() in the threadpool; close() does not wait for it (eventfd wake-up). */
export const POLL_TIMEOUT_MS = 1000;
/** Datagrams read per wake-up before yielding to the event loop again (fairness bound). */
export const MAX_DATAGRAMS_PER_WAKE = 64;
/** Default receive buffer: talk control messages are 84 bytes; anything longer is still read up to this. */
export const DEFAULT_MAX_DATAGRAM_BYTES = 2048;
/** Consecutive failing poll() calls after which the receive loop stops and reports. */
const MAX_POLL_FAILURES = 8;

export interface InterceptedDatagram {
  readonly data: Buffer;
  /** Who sent it (the real client). */
  readonly source: Endpoint;
  /** Where the client sent it (before tproxy), e.g. 198.51.100.2:518. */
  readonly originalDestination: Endpoint;
  /** True when the datagram was longer than maxDatagramBytes and `data` holds only its start. */
  readonly truncated: boolean;
}

export interface SendRoute {
  /** Source address and port of the datagram on the wire (may be a foreign address). */
  readonly from: Endpoint;
  readonly to: Endpoint;
}

export interface TransparentUdpOptions {
  /** The tproxy target port. 0 picks a free port (tests). */
  readonly port: number;
  /** Local address to bind; default 0.0.0.0 (tproxy with `to :PORT` finds wildcard listeners). */
  readonly address?: string;
  readonly onDatagram: (datagram: InterceptedDatagram) => void;
  /** Receive-side failures and exceptions thrown by onDatagram; default: ignored (counted in stats). */
  readonly onError?: (error: Error) => void;
  readonly maxDatagramBytes?: number;
  /**
   * An already open receiving transparent socket (from {@link openTransparentUdpFd} in a privileged
   * process, inherited by an unprivileged worker): adopted instead of opening one. Receiving on it
   * needs no privilege; sendFrom does (the worker sends through its privileged side instead).
   */
  readonly fd?: number;
}

export interface TransparentUdpStats {
  readonly received: number;
  /** Datagrams without an IP_ORIGDSTADDR (should not happen) or with an unreadable source. */
  readonly dropped: number;
  readonly truncated: number;
  readonly sent: number;
}

export interface TransparentUdpSocket {
  /** The bound local endpoint (the real port when opened with port 0). */
  readonly local: Endpoint;
  /** Sends `bytes` with source `from` (foreign allowed) to `to`. Throws TransparentSocketError. */
  sendFrom(bytes: Uint8Array, route: SendRoute): void;
  stats(): TransparentUdpStats;
  /** Stops receiving and closes; resolves within one threadpool round trip; idempotent. */
  close(): Promise<void>;
}

function intOption(fd: number, c: Libc, level: number, name: number, label: string, what: string): void {
  const one = Buffer.alloc(4);
  one.writeInt32LE(1, 0);
  if (c.setsockopt(fd, level, name, one, 4) !== 0) {
    const errno = c.errno();
    c.close(fd);
    throw TransparentSocketError.fromErrno(`setsockopt(${label})`, errno, what);
  }
}

/** socket + SO_REUSEADDR + IP_TRANSPARENT (+ IP_RECVORIGDSTADDR) + bind; closes the fd on failure. */
function transparentSocket(c: Libc, bindTo: Endpoint, receive: boolean, what: string): number {
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw TransparentSocketError.fromErrno('socket', c.errno(), what);
  intOption(fd, c, SOL_SOCKET, SO_REUSEADDR, 'SO_REUSEADDR', what);
  intOption(fd, c, SOL_IP, IP_TRANSPARENT, 'IP_TRANSPARENT', what);
  if (receive) intOption(fd, c, SOL_IP, IP_RECVORIGDSTADDR, 'IP_RECVORIGDSTADDR', what);
  if (c.bind(fd, sockaddrIn(bindTo), SOCKADDR_IN_SIZE) !== 0) {
    const errno = c.errno();
    c.close(fd);
    throw TransparentSocketError.fromErrno(`bind(${bindTo.address}:${bindTo.port})`, errno, what);
  }
  return fd;
}

/**
 * Sends one datagram from a foreign (or local) address and port. Usable without a receiving socket.
 * Throws TransparentSocketError (TRANSPARENT_PERMISSION without CAP_NET_ADMIN).
 */
export function sendFrom(bytes: Uint8Array, route: SendRoute): void {
  const c = libc();
  const what = `sendFrom ${route.from.address}:${route.from.port} -> ${route.to.address}:${route.to.port}`;
  const fd = transparentSocket(c, route.from, false, what);
  try {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = c.sendto(fd, data, data.length, 0, sockaddrIn(route.to), SOCKADDR_IN_SIZE);
    if (n < 0) throw TransparentSocketError.fromErrno('sendto', c.errno(), what);
  } finally {
    c.close(fd);
  }
}

class NativeBlock {
  readonly ptr: unknown;
  readonly addr: bigint;
  readonly bytes: Uint8Array;
  constructor(c: Libc, size: number) {
    const ptr = c.malloc(size);
    if (ptr === null) throw new TransparentSocketError('TRANSPARENT_SYSCALL', `malloc(${size}) failed`, 'malloc', 0);
    this.ptr = ptr;
    this.addr = c.address(ptr);
    this.bytes = new Uint8Array(c.view(ptr, size));
    this.bytes.fill(0);
  }
}

class TransparentUdp implements TransparentUdpSocket {
  readonly local: Endpoint;
  readonly #c: Libc;
  readonly #fd: number;
  readonly #poller: WakePoll;
  readonly #opts: TransparentUdpOptions;
  readonly #maxBytes: number;
  readonly #blocks: NativeBlock[];
  readonly #msg: NativeBlock;
  readonly #iov: NativeBlock;
  readonly #name: NativeBlock;
  readonly #control: NativeBlock;
  readonly #data: NativeBlock;
  #pollFailures = 0;
  #received = 0;
  #dropped = 0;
  #truncated = 0;
  #sent = 0;

  constructor(c: Libc, opts: TransparentUdpOptions) {
    this.#c = c;
    this.#opts = opts;
    this.#maxBytes = opts.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES;
    if (!Number.isInteger(this.#maxBytes) || this.#maxBytes < 1 || this.#maxBytes > 65_535) {
      throw new RangeError(`maxDatagramBytes out of range: ${this.#maxBytes}`);
    }
    const bindTo = { address: opts.address ?? '0.0.0.0', port: opts.port };
    const what = `openTransparentUdp ${bindTo.address}:${bindTo.port}`;
    this.#fd = opts.fd ?? transparentSocket(c, bindTo, true, what);
    const wake = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) {
      const errno = c.errno();
      c.close(this.#fd);
      throw TransparentSocketError.fromErrno('eventfd', errno, what);
    }
    const nameBuf = Buffer.alloc(SOCKADDR_IN_SIZE);
    const lenBuf = Buffer.alloc(4);
    lenBuf.writeUInt32LE(SOCKADDR_IN_SIZE, 0);
    const bound = c.getsockname(this.#fd, nameBuf, lenBuf) === 0 ? decodeSockaddrIn(nameBuf, 0) : null;
    this.local = bound ?? bindTo;

    this.#msg = new NativeBlock(c, MSGHDR_SIZE);
    this.#iov = new NativeBlock(c, IOVEC_SIZE);
    this.#name = new NativeBlock(c, SOCKADDR_IN_SIZE);
    this.#control = new NativeBlock(c, ORIGDST_CMSG_SPACE * 2);
    this.#data = new NativeBlock(c, this.#maxBytes);
    const pollfds = new NativeBlock(c, POLLFD_SIZE * 2);
    this.#blocks = [this.#msg, this.#iov, this.#name, this.#control, this.#data, pollfds];
    encodeIovec(this.#iov.bytes, this.#data.addr, this.#maxBytes);
    this.#poller = new WakePoll(c, this.#fd, wake, pollfds, () => {
      for (const b of this.#blocks) c.free(b.ptr);
    });
    this.#arm();
  }

  sendFrom(bytes: Uint8Array, route: SendRoute): void {
    if (this.#poller.closed) throw new TransparentSocketError('TRANSPARENT_CLOSED', 'sendFrom on a closed transparent socket');
    sendFrom(bytes, route);
    this.#sent++;
  }

  stats(): TransparentUdpStats {
    return { received: this.#received, dropped: this.#dropped, truncated: this.#truncated, sent: this.#sent };
  }

  close(): Promise<void> {
    return this.#poller.close();
  }

  #report(error: Error): void {
    try {
      this.#opts.onError?.(error);
    } catch {
      // an error handler that throws must not kill the receive loop
    }
  }

  #arm(): void {
    this.#poller.arm(POLL_TIMEOUT_MS, (err, result, revents) => {
      if (err !== null && err !== undefined) {
        // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a non-Error from the poll thread is shown as String() gives it
        this.#report(err instanceof Error ? err : new Error(String(err)));
        this.#pollFailures++;
      } else if (result < 0) {
        this.#pollFailures++;
      } else {
        this.#pollFailures = 0;
        if (result > 0) {
          if ((revents & POLLNVAL) !== 0) this.#pollFailures = MAX_POLL_FAILURES;
          else if ((revents & (POLLIN | POLLERR)) !== 0) this.#drain();
        }
      }
      if (this.#poller.closed) return; // closed by onDatagram: already released
      if (this.#pollFailures >= MAX_POLL_FAILURES) {
        this.#report(new TransparentSocketError('TRANSPARENT_SYSCALL', `poll failed ${MAX_POLL_FAILURES} times in a row; receive loop stopped`, 'poll'));
        return;
      }
      this.#arm();
    });
  }

  #drain(): void {
    const c = this.#c;
    for (let i = 0; i < MAX_DATAGRAMS_PER_WAKE; i++) {
      encodeMsghdr(this.#msg.bytes, {
        name: this.#name.addr,
        namelen: SOCKADDR_IN_SIZE,
        iov: this.#iov.addr,
        iovlen: 1,
        control: this.#control.addr,
        controllen: this.#control.bytes.length,
      });
      const n = c.recvmsg(this.#fd, this.#msg.ptr, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        const errno = c.errno();
        if (errno === Errno.EAGAIN || errno === Errno.EINTR) return;
        // e.g. ECONNREFUSED/EHOSTUNREACH from a queued ICMP error: report and keep reading.
        this.#report(TransparentSocketError.fromErrno('recvmsg', errno, `transparent socket ${this.local.address}:${this.local.port}`));
        continue;
      }
      const res = decodeMsghdrResult(this.#msg.bytes);
      const source = decodeSockaddrIn(this.#name.bytes, 0, res.namelen);
      const originalDestination =
        (res.flags & MSG_CTRUNC) === 0 ? findOrigDstAddr(this.#control.bytes, res.controllen) : null;
      if (source === null || originalDestination === null) {
        this.#dropped++;
        continue;
      }
      // With MSG_TRUNC, recvmsg returns the real datagram length even when longer than the buffer.
      const truncated = (res.flags & MSG_TRUNC) !== 0 || n > this.#maxBytes;
      if (truncated) this.#truncated++;
      this.#received++;
      const data = Buffer.from(this.#data.bytes.subarray(0, Math.min(n, this.#maxBytes)));
      try {
        this.#opts.onDatagram({ data, source, originalDestination, truncated });
      } catch (error) {
        this.#report(error instanceof Error ? error : new Error(String(error)));
      }
      if (this.#poller.closed) return;
    }
  }
}

/**
 * Opens the receiving transparent socket and returns its bare fd (needs CAP_NET_ADMIN), for a
 * privileged process to hand to its unprivileged worker (which adopts it with `fd`).
 */
export function openTransparentUdpFd(port: number, address = '0.0.0.0'): number {
  return transparentSocket(libc(), { address, port }, true, `openTransparentUdpFd ${address}:${port}`);
}

/** Opens the receiving transparent socket. Throws TransparentSocketError (see its codes). */
export function openTransparentUdp(options: TransparentUdpOptions): TransparentUdpSocket {
  return new TransparentUdp(libc(), options);
}
