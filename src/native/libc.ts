/**
 * The libc socket calls talkgate needs and Node does not offer (adopting an inherited UDP
 * socket; later IP_TRANSPARENT / IP_RECVORIGDSTADDR for the gateway). Loaded lazily through
 * koffi, so nothing native is touched unless an inherited-socket mode is used. Linux only.
 */
import koffi from 'koffi';

/** <sys/socket.h>, <netinet/in.h>, <poll.h>, <sys/eventfd.h>, <errno.h> on Linux. */
export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_TYPE = 3;
export const SO_DOMAIN = 39;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x0001;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
export const EAGAIN = 11;
export const EINTR = 4;
/** sizeof(struct sockaddr_in). */
export const SOCKADDR_IN_SIZE = 16;
/** sizeof(struct pollfd): int fd; short events; short revents. */
export const POLLFD_SIZE = 8;

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  getsockname(fd: number, addr: Buffer, len: Buffer): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, len: Buffer): number;
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: Buffer): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  close(fd: number): number;
  write(fd: number, buf: Buffer, len: number): number;
  read(fd: number, buf: Buffer, len: number): number;
  eventfd(initval: number, flags: number): number;
  /** poll(2) on a worker thread; the callback gets the result. */
  pollAsync(fds: Buffer, nfds: number, timeoutMs: number, cb: (err: unknown, result: number) => void): void;
  errno(): number;
}

let cached: Libc | undefined;

/** Loads libc.so.6 once. Throws a plain Error when koffi or libc is unavailable. */
export function libc(): Libc {
  if (cached !== undefined) return cached;
  const lib = koffi.load('libc.so.6');
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  const f = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    bind: lib.func('int bind(int fd, void *addr, uint32_t len)'),
    getsockname: lib.func('int getsockname(int fd, void *addr, void *len)'),
    getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)'),
    recvfrom: lib.func('long recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)'),
    sendto: lib.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)'),
    close: lib.func('int close(int fd)'),
    write: lib.func('long write(int fd, void *buf, size_t len)'),
    read: lib.func('long read(int fd, void *buf, size_t len)'),
    eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
  };
  cached = {
    socket: (d, t, p) => f.socket(d, t, p) as number,
    bind: (fd, a, l) => f.bind(fd, a, l) as number,
    getsockname: (fd, a, l) => f.getsockname(fd, a, l) as number,
    getsockopt: (fd, lv, n, v, l) => f.getsockopt(fd, lv, n, v, l) as number,
    recvfrom: (fd, b, l, fl, a, al) => Number(f.recvfrom(fd, b, l, fl, a, al)),
    sendto: (fd, b, l, fl, a, al) => Number(f.sendto(fd, b, l, fl, a, al)),
    close: (fd) => f.close(fd) as number,
    write: (fd, b, l) => Number(f.write(fd, b, l)),
    read: (fd, b, l) => Number(f.read(fd, b, l)),
    eventfd: (v, fl) => f.eventfd(v, fl) as number,
    pollAsync: (fds, n, t, cb) => {
      poll.async(fds, n, t, cb);
    },
    errno: () => koffi.errno(),
  };
  return cached;
}

/** struct sockaddr_in for an IPv4 dotted quad (family in host order, port and address in network order). */
export function encodeSockaddrIn(address: string, port: number): Buffer {
  const b = Buffer.alloc(SOCKADDR_IN_SIZE);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  const parts = address.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new RangeError(`Invalid IPv4 address: ${address}`);
  }
  parts.forEach((p, i) => b.writeUInt8(p, 4 + i));
  return b;
}

/** Reads a struct sockaddr_in; `undefined` when the family is not AF_INET. */
export function decodeSockaddrIn(b: Buffer): { address: string; port: number } | undefined {
  if (b.readUInt16LE(0) !== AF_INET) return undefined;
  return { address: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`, port: b.readUInt16BE(2) };
}
