/**
 * The one koffi binding of the libc calls talkgate needs and Node does not offer: adopting an
 * inherited UDP socket (fd-datagram-endpoint.ts) and transparent interception (transparent/).
 * Loaded lazily, so nothing native is touched unless such a mode is used. Linux only; constants and
 * struct layouts are in socket-abi.ts.
 *
 * Pointer arguments are `void *`: callers pass either a Node Buffer (synchronous calls) or memory
 * from `malloc` (anything a threadpool call reads while the event loop runs). Signatures follow
 * glibc on LP64 Linux: ssize_t/size_t are 64-bit `long`/`size_t`, socklen_t is `uint32_t`.
 */
import koffi from 'koffi';

type Ptr = unknown;

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Ptr, len: number): number;
  listen(fd: number, backlog: number): number;
  getsockname(fd: number, addr: Ptr, len: Ptr): number;
  getsockopt(fd: number, level: number, name: number, value: Ptr, len: Ptr): number;
  setsockopt(fd: number, level: number, name: number, value: Ptr, len: number): number;
  recvfrom(fd: number, buf: Ptr, len: number, flags: number, addr: Ptr, addrLen: Ptr): number;
  recvmsg(fd: number, msg: Ptr, flags: number): number;
  sendto(fd: number, buf: Ptr, len: number, flags: number, addr: Ptr, addrLen: number): number;
  close(fd: number): number;
  write(fd: number, buf: Ptr, len: number): number;
  read(fd: number, buf: Ptr, len: number): number;
  eventfd(initval: number, flags: number): number;
  /** poll(2) in the libuv threadpool; the callback gets the return value (or -1 with the call's error). */
  pollAsync(fds: Ptr, nfds: number, timeoutMs: number, cb: (err: unknown, result: number) => void): void;
  malloc(size: number): Ptr;
  free(p: Ptr): void;
  /** errno of the last synchronous call on this thread. */
  errno(): number;
  /** The address of native memory from malloc, to store in structs. */
  address(p: Ptr): bigint;
  /** An ArrayBuffer over native memory (no copy). */
  view(p: Ptr, length: number): ArrayBuffer;
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
    listen: lib.func('int listen(int fd, int backlog)'),
    getsockname: lib.func('int getsockname(int fd, void *addr, void *len)'),
    getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
    recvfrom: lib.func('long recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)'),
    recvmsg: lib.func('long recvmsg(int fd, void *msg, int flags)'),
    sendto: lib.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)'),
    close: lib.func('int close(int fd)'),
    write: lib.func('long write(int fd, void *buf, size_t len)'),
    read: lib.func('long read(int fd, void *buf, size_t len)'),
    eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
    malloc: lib.func('void *malloc(size_t size)'),
    free: lib.func('void free(void *p)'),
  };
  cached = {
    socket: (d, t, p) => f.socket(d, t, p) as number,
    bind: (fd, a, l) => f.bind(fd, a, l) as number,
    listen: (fd, b) => f.listen(fd, b) as number,
    getsockname: (fd, a, l) => f.getsockname(fd, a, l) as number,
    getsockopt: (fd, lv, n, v, l) => f.getsockopt(fd, lv, n, v, l) as number,
    setsockopt: (fd, lv, n, v, l) => f.setsockopt(fd, lv, n, v, l) as number,
    recvfrom: (fd, b, l, fl, a, al) => Number(f.recvfrom(fd, b, l, fl, a, al)),
    recvmsg: (fd, m, fl) => Number(f.recvmsg(fd, m, fl)),
    sendto: (fd, b, l, fl, a, al) => Number(f.sendto(fd, b, l, fl, a, al)),
    close: (fd) => f.close(fd) as number,
    write: (fd, b, l) => Number(f.write(fd, b, l)),
    read: (fd, b, l) => Number(f.read(fd, b, l)),
    eventfd: (v, fl) => f.eventfd(v, fl) as number,
    pollAsync: (fds, n, t, cb) => {
      poll.async(fds, n, t, cb);
    },
    malloc: (size) => f.malloc(size) as Ptr,
    free: (p) => {
      f.free(p);
    },
    errno: () => koffi.errno(),
    address: (p) => koffi.address(p),
    view: (p, length) => koffi.view(p, length),
  };
  return cached;
}
