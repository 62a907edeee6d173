/**
 * DatagramEndpoint over an existing IPv4 UDP socket file descriptor (inetd's fd 0, systemd's
 * fds 3..), through libc. Receiving (wake-poll.ts): poll() on a worker thread waits for the socket
 * or a wake-up eventfd; the main thread then drains with recvfrom(MSG_DONTWAIT), at most DRAIN_BATCH
 * datagrams per wake-up. close() signals the eventfd, so it never hangs on a blocked poll.
 */
import { TalkError } from '../shared/talk-error.js';
import type { DatagramEndpoint, DatagramListener, DatagramPeer } from './datagram-endpoint.js';
import { libc, type Libc } from './libc.js';
import {
  AF_INET,
  decodeSockaddrIn,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  Errno,
  MSG_DONTWAIT,
  POLLFD_SIZE,
  SO_DOMAIN,
  SO_TYPE,
  SOCK_DGRAM,
  SOCKADDR_IN_SIZE,
  SOL_SOCKET,
  SO_REUSEADDR,
  sockaddrIn,
} from './socket-abi.js';
import { WakePoll } from './wake-poll.js';

/** Datagrams read per wake-up before yielding to the event loop. */
const DRAIN_BATCH = 64;
/** Receive buffer: larger than any talk message; longer datagrams arrive truncated (and are malformed). */
const RECV_BUFFER_SIZE = 2048;

export class NativeSocketError extends TalkError {
  override readonly name = 'NativeSocketError';
  readonly errno: number;
  constructor(call: string, errno: number) {
    super('TALK_ERR_NATIVE', `${call} failed: errno ${errno}`);
    this.errno = errno;
  }
}

/** getsockopt(SO_TYPE / SO_DOMAIN): true when `fd` is an AF_INET datagram socket. */
export function isInetDatagramSocket(fd: number): boolean {
  const c = libc();
  const v = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  if (c.getsockopt(fd, SOL_SOCKET, SO_TYPE, v, len) !== 0 || v.readInt32LE(0) !== SOCK_DGRAM) return false;
  len.writeUInt32LE(4);
  return c.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, v, len) === 0 && v.readInt32LE(0) === AF_INET;
}

/** getsockname() of an IPv4 socket fd. */
export function socketLocalAddress(fd: number): DatagramPeer {
  const c = libc();
  const addr = Buffer.alloc(SOCKADDR_IN_SIZE);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(SOCKADDR_IN_SIZE);
  if (c.getsockname(fd, addr, len) !== 0) throw new NativeSocketError('getsockname', c.errno());
  const peer = decodeSockaddrIn(addr, 0);
  if (peer === null) throw new NativeSocketError('getsockname (not AF_INET)', 0);
  return peer;
}

/** socket()+bind() of a new IPv4 UDP socket fd (for tests and tools that hand a socket to a child). */
export function bindUdpSocketFd(address: string, port: number): number {
  const c = libc();
  const fd = c.socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw new NativeSocketError('socket', c.errno());
  const sa = sockaddrIn({ address, port });
  if (c.bind(fd, sa, sa.length) !== 0) {
    const e = c.errno();
    c.close(fd);
    throw new NativeSocketError('bind', e);
  }
  return fd;
}

/** TCP (SOCK_STREAM); the only stream socket this layer opens. */
const SOCK_STREAM = 1;
/** listen(2) backlog of an inherited admin listener (the admin server bounds connections itself). */
export const LISTEN_BACKLOG = 64;

/**
 * socket()+SO_REUSEADDR+bind()+listen() of a new IPv4 TCP listener fd, for a privileged process to
 * hand to its unprivileged worker (which serves on it with `server.listen({ fd })`).
 */
export function listenTcpSocketFd(address: string, port: number, backlog = LISTEN_BACKLOG): number {
  const c = libc();
  const fd = c.socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw new NativeSocketError('socket', c.errno());
  const one = Buffer.alloc(4);
  one.writeInt32LE(1, 0);
  const sa = sockaddrIn({ address, port });
  if (c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) !== 0 || c.bind(fd, sa, sa.length) !== 0 || c.listen(fd, backlog) !== 0) {
    const e = c.errno();
    c.close(fd);
    throw new NativeSocketError(`bind/listen ${address}:${port}`, e);
  }
  return fd;
}

/** Closes an fd this process no longer needs (handed to a child). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

export class FdDatagramEndpoint implements DatagramEndpoint {
  readonly #c: Libc;
  readonly #fd: number;
  readonly #poller: WakePoll;
  readonly #recvBuf = Buffer.alloc(RECV_BUFFER_SIZE);
  readonly #fromBuf = Buffer.alloc(SOCKADDR_IN_SIZE);
  readonly #fromLen = Buffer.alloc(4);
  #listener: DatagramListener | undefined;
  #errorListener: (err: Error) => void = () => undefined;

  /** Adopts `fd` (which the endpoint then owns and closes). */
  constructor(fd: number) {
    this.#c = libc();
    this.#fd = fd;
    const wake = this.#c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) throw new NativeSocketError('eventfd', this.#c.errno());
    const pollFds = Buffer.alloc(2 * POLLFD_SIZE);
    this.#poller = new WakePoll(this.#c, fd, wake, { ptr: pollFds, bytes: pollFds });
  }

  send(bytes: Uint8Array, port: number, address: string): void {
    if (this.#poller.closed) return;
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const sa = sockaddrIn({ address, port });
    if (this.#c.sendto(this.#fd, buf, buf.length, MSG_DONTWAIT, sa, sa.length) < 0) {
      this.#errorListener(new NativeSocketError('sendto', this.#c.errno()));
    }
  }

  localAddress(): DatagramPeer {
    return socketLocalAddress(this.#fd);
  }

  onMessage(listener: DatagramListener): void {
    this.#listener = listener;
    this.#poll();
  }

  onError(listener: (err: Error) => void): void {
    this.#errorListener = listener;
  }

  close(): Promise<void> {
    return this.#poller.close();
  }

  #poll(): void {
    this.#poller.arm(-1, (err, result) => {
      if (err !== null && err !== undefined) {
        // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a non-Error from the poll thread is shown as String() gives it
        this.#errorListener(err instanceof Error ? err : new Error(String(err)));
      } else if (result < 0) {
        const e = this.#c.errno();
        if (e !== Errno.EINTR) this.#errorListener(new NativeSocketError('poll', e));
      } else {
        this.#drain();
      }
      // Yield to the event loop between batches, so replies and timers run.
      setImmediate(() => this.#poll());
    });
  }

  #drain(): void {
    for (let i = 0; i < DRAIN_BATCH && !this.#poller.closed; i++) {
      this.#fromLen.writeUInt32LE(SOCKADDR_IN_SIZE);
      const n = this.#c.recvfrom(this.#fd, this.#recvBuf, this.#recvBuf.length, MSG_DONTWAIT, this.#fromBuf, this.#fromLen);
      if (n < 0) {
        const e = this.#c.errno();
        if (e !== Errno.EAGAIN && e !== Errno.EINTR) this.#errorListener(new NativeSocketError('recvfrom', e));
        return;
      }
      const peer = decodeSockaddrIn(this.#fromBuf, 0);
      if (peer === null) continue;
      const bytes = Uint8Array.prototype.slice.call(this.#recvBuf, 0, n);
      this.#listener?.(bytes, peer);
    }
  }
}
