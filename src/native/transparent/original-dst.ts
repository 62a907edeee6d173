/**
 * SO_ORIGINAL_DST for a TCP connection that netfilter redirected or DNATed to this host: the
 * address and port the client really connected to (conntrack's original tuple). Connections that
 * arrive through tproxy need no lookup: their local address already is the original destination.
 */
import type { Socket } from 'node:net';
import { SOCKADDR_IN_SIZE, SOL_IP, SO_ORIGINAL_DST, Errno, decodeSockaddrIn, type Endpoint } from '../socket-abi.js';
import { libc } from './libc.js';
import { TransparentSocketError } from './transparent-error.js';

/** The fd behind a connected net.Socket (libuv's TCP handle), or null when it has none. */
export function socketFd(socket: Socket): number | null {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : null;
}

/** Throws TransparentSocketError: NO_ORIGINAL_DST when conntrack has no NAT entry for it. */
export function originalDst(socket: Socket): Endpoint {
  const fd = socketFd(socket);
  if (fd === null) throw new TransparentSocketError('TRANSPARENT_CLOSED', 'originalDst: the socket has no file descriptor (closed or not TCP)');
  const c = libc();
  const addr = Buffer.alloc(SOCKADDR_IN_SIZE);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(SOCKADDR_IN_SIZE, 0);
  if (c.getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, addr, len) !== 0) {
    const errno = c.errno();
    if (errno === Errno.ENOENT) {
      throw new TransparentSocketError('NO_ORIGINAL_DST', 'originalDst: the connection was not redirected (no conntrack NAT entry)', 'getsockopt(SO_ORIGINAL_DST)', errno);
    }
    throw TransparentSocketError.fromErrno('getsockopt(SO_ORIGINAL_DST)', errno, 'originalDst');
  }
  const ep = decodeSockaddrIn(addr, 0, len.readUInt32LE(0));
  if (ep === null) throw new TransparentSocketError('TRANSPARENT_SYSCALL', 'originalDst: kernel returned a non-AF_INET address', 'getsockopt(SO_ORIGINAL_DST)');
  return ep;
}
