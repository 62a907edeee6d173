/**
 * The libc functions the transparent layer calls, bound once with koffi. All pointer arguments are
 * `void *`: callers pass either a Node Buffer (synchronous calls only) or memory from `malloc`
 * (anything a threadpool call reads while the event loop runs). Signatures follow glibc on LP64
 * Linux: ssize_t/size_t are 64-bit `long`/`size_t`, socklen_t is `uint32_t`.
 */
import koffi from 'koffi';
import { supportedPlatform } from './abi.js';
import { TransparentSocketError } from './transparent-error.js';

type Ptr = unknown;

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Ptr, len: number): number;
  getsockopt(fd: number, level: number, name: number, value: Ptr, len: Ptr): number;
  getsockname(fd: number, addr: Ptr, len: Ptr): number;
  bind(fd: number, addr: Ptr, len: number): number;
  recvmsg(fd: number, msg: Ptr, flags: number): number;
  sendto(fd: number, buf: Ptr, len: number, flags: number, addr: Ptr, addrlen: number): number;
  close(fd: number): number;
  eventfd(initval: number, flags: number): number;
  write(fd: number, buf: Ptr, len: number): number;
  /** poll() run in the libuv threadpool; `done` gets the return value (or -1 with the call's error). */
  pollAsync(fds: Ptr, nfds: number, timeoutMs: number, done: (err: unknown, result: number) => void): void;
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

export function libc(): Libc {
  if (cached !== undefined) return cached;
  if (!supportedPlatform()) {
    throw new TransparentSocketError(
      'TRANSPARENT_UNSUPPORTED',
      `transparent interception needs LP64 Linux (x64 or arm64); this is ${process.platform}/${process.arch}`,
    );
  }
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libc.so.6');
  } catch (cause) {
    throw new TransparentSocketError('TRANSPARENT_UNSUPPORTED', 'cannot load libc.so.6 with koffi', '', 0, { cause });
  }
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  cached = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
    getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)'),
    getsockname: lib.func('int getsockname(int fd, void *addr, void *len)'),
    bind: lib.func('int bind(int fd, void *addr, uint32_t len)'),
    recvmsg: lib.func('long recvmsg(int fd, void *msg, int flags)'),
    sendto: lib.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)'),
    close: lib.func('int close(int fd)'),
    eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
    write: lib.func('long write(int fd, void *buf, size_t len)'),
    pollAsync: (fds, nfds, timeoutMs, done) => poll.async(fds, nfds, timeoutMs, done),
    malloc: lib.func('void *malloc(size_t size)'),
    free: lib.func('void free(void *p)'),
    errno: () => koffi.errno(),
    address: (p) => koffi.address(p),
    view: (p, length) => koffi.view(p, length),
  };
  return cached;
}
