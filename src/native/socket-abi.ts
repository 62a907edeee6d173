/**
 * Linux socket ABI facts for the native layer (the inherited-socket endpoint and transparent
 * interception): constants and struct layouts for LP64 Linux (x86-64 and aarch64 share them), with
 * pure encoders/decoders so every offset is tested without root and without a kernel call.
 *
 * Sources: linux/include/uapi/linux/in.h (IP_TRANSPARENT 19, IP_ORIGDSTADDR 20, IP_RECVORIGDSTADDR
 * = IP_ORIGDSTADDR), linux/include/uapi/linux/netfilter_ipv4.h (SO_ORIGINAL_DST 80),
 * asm-generic/socket.h (SOL_SOCKET 1, SO_REUSEADDR 2, SO_TYPE 3, SO_DOMAIN 39), bits/socket.h +
 * bits/socket_type.h (glibc), asm-generic/errno-base.h + errno.h, poll.h, sys/eventfd.h.
 */

export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_DOMAIN = 39;
/** SOL_IP == IPPROTO_IP. */
export const SOL_IP = 0;
export const IP_TRANSPARENT = 19;
export const IP_RECVORIGDSTADDR = 20;
/** The cmsg type carrying the original destination: same value as IP_RECVORIGDSTADDR. */
export const IP_ORIGDSTADDR = 20;
export const SO_ORIGINAL_DST = 80;
export const MSG_CTRUNC = 0x08;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x001;
export const POLLERR = 0x008;
/** @public poll(2) revents bit: unused today, kept so the flag set matches <poll.h>. */
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;

/** The errno values this layer reacts to (asm-generic). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EINVAL: 22,
  EMFILE: 24,
  ENOPROTOOPT: 92,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
} as const;

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(Errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/**
 * struct sockaddr_in, 16 bytes:
 *   0 sin_family u16 host order (little-endian on the supported targets)
 *   2 sin_port   u16 network order
 *   4 sin_addr   4 bytes network order
 *   8 sin_zero   8 bytes, zero
 */
export const SOCKADDR_IN_SIZE = 16;

/**
 * struct iovec, 16 bytes:  0 iov_base pointer (8), 8 iov_len size_t (8).
 */
export const IOVEC_SIZE = 16;

/**
 * struct msghdr, 56 bytes:
 *   0 msg_name pointer, 8 msg_namelen socklen_t (u32) + 4 padding, 16 msg_iov pointer,
 *   24 msg_iovlen size_t, 32 msg_control pointer, 40 msg_controllen size_t, 48 msg_flags int + 4 padding.
 */
export const MSGHDR_SIZE = 56;
export const MSGHDR = {
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  control: 32,
  controllen: 40,
  flags: 48,
} as const;

/**
 * struct cmsghdr, 16-byte header then data:  0 cmsg_len size_t (8, includes the header),
 *   8 cmsg_level int, 12 cmsg_type int, 16 data. Each cmsg starts at a multiple of 8 (CMSG_ALIGN).
 */
export const CMSGHDR_SIZE = 16;
export const CMSG_ALIGNMENT = 8;
export function cmsgAlign(n: number): number {
  return (n + CMSG_ALIGNMENT - 1) & ~(CMSG_ALIGNMENT - 1);
}
/** CMSG_SPACE(sizeof(struct sockaddr_in)) = 32: room for one IP_ORIGDSTADDR message. */
export const ORIGDST_CMSG_SPACE = CMSGHDR_SIZE + cmsgAlign(SOCKADDR_IN_SIZE);

/** struct pollfd, 8 bytes:  0 fd int, 4 events short, 6 revents short. */
export const POLLFD_SIZE = 8;

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** The pointer-sized ABIs the layouts above are written for. */
export function supportedPlatform(platform: string = process.platform, arch: string = process.arch): boolean {
  return platform === 'linux' && (arch === 'x64' || arch === 'arm64');
}

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parses a dotted-quad IPv4 address into its 4 network-order bytes; throws RangeError otherwise. */
export function ipv4Bytes(address: string): Uint8Array {
  if (!DOTTED_QUAD.test(address)) throw new RangeError(`not a dotted-quad IPv4 address: ${JSON.stringify(address)}`);
  return Uint8Array.from(address.split('.').map(Number));
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`port out of range: ${port}`);
}

/** Writes a struct sockaddr_in at `offset` (16 bytes). */
export function encodeSockaddrIn(target: Uint8Array, offset: number, ep: Endpoint): void {
  checkPort(ep.port);
  const addr = ipv4Bytes(ep.address);
  if (offset < 0 || offset + SOCKADDR_IN_SIZE > target.length) throw new RangeError('sockaddr_in does not fit');
  const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
  dv.setUint16(offset, AF_INET, true);
  dv.setUint16(offset + 2, ep.port, false);
  target.set(addr, offset + 4);
  target.fill(0, offset + 8, offset + SOCKADDR_IN_SIZE);
}

export function sockaddrIn(ep: Endpoint): Buffer {
  const b = Buffer.alloc(SOCKADDR_IN_SIZE);
  encodeSockaddrIn(b, 0, ep);
  return b;
}

/** Reads a struct sockaddr_in at `offset`; null when it does not fit or is not AF_INET. */
export function decodeSockaddrIn(source: Uint8Array, offset: number, length = SOCKADDR_IN_SIZE): Endpoint | null {
  if (offset < 0 || length < 8 || offset + 8 > source.length) return null;
  const dv = new DataView(source.buffer, source.byteOffset, source.byteLength);
  if (dv.getUint16(offset, true) !== AF_INET) return null;
  const port = dv.getUint16(offset + 2, false);
  const address = `${source[offset + 4]}.${source[offset + 5]}.${source[offset + 6]}.${source[offset + 7]}`;
  return { address, port };
}

export interface MsghdrPointers {
  readonly name: bigint;
  readonly namelen: number;
  readonly iov: bigint;
  readonly iovlen: number;
  readonly control: bigint;
  readonly controllen: number;
}

/** Fills a struct msghdr (56 bytes) at offset 0 of `target`. */
export function encodeMsghdr(target: Uint8Array, p: MsghdrPointers): void {
  if (target.length < MSGHDR_SIZE) throw new RangeError('msghdr needs 56 bytes');
  const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
  target.fill(0, 0, MSGHDR_SIZE);
  dv.setBigUint64(MSGHDR.name, p.name, true);
  dv.setUint32(MSGHDR.namelen, p.namelen, true);
  dv.setBigUint64(MSGHDR.iov, p.iov, true);
  dv.setBigUint64(MSGHDR.iovlen, BigInt(p.iovlen), true);
  dv.setBigUint64(MSGHDR.control, p.control, true);
  dv.setBigUint64(MSGHDR.controllen, BigInt(p.controllen), true);
}

/** After recvmsg: the kernel rewrites msg_namelen, msg_controllen and msg_flags. */
export function decodeMsghdrResult(source: Uint8Array): { namelen: number; controllen: number; flags: number } {
  const dv = new DataView(source.buffer, source.byteOffset, source.byteLength);
  return {
    namelen: dv.getUint32(MSGHDR.namelen, true),
    controllen: Number(dv.getBigUint64(MSGHDR.controllen, true)),
    flags: dv.getInt32(MSGHDR.flags, true),
  };
}

export function encodeIovec(target: Uint8Array, base: bigint, length: number): void {
  if (target.length < IOVEC_SIZE) throw new RangeError('iovec needs 16 bytes');
  const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
  dv.setBigUint64(0, base, true);
  dv.setBigUint64(8, BigInt(length), true);
}

/** Encodes one control message (header + data, padded to CMSG_SPACE) — used by tests and by senders. */
export function encodeCmsg(level: number, type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(CMSGHDR_SIZE + cmsgAlign(data.length));
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(CMSGHDR_SIZE + data.length), true);
  dv.setInt32(8, level, true);
  dv.setInt32(12, type, true);
  out.set(data, CMSGHDR_SIZE);
  return out;
}

/**
 * Walks the control buffer filled by recvmsg (first `controllen` bytes) and returns the
 * IP_ORIGDSTADDR sockaddr_in, or null when absent. Every length is bounds-checked: a malformed
 * cmsg_len ends the walk instead of reading outside the buffer.
 */
export function findOrigDstAddr(control: Uint8Array, controllen: number): Endpoint | null {
  const end = Math.min(controllen, control.length);
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
  let off = 0;
  for (let guard = 0; guard < 64 && off + CMSGHDR_SIZE <= end; guard++) {
    const len = Number(dv.getBigUint64(off, true));
    if (len < CMSGHDR_SIZE || off + len > end) return null;
    const level = dv.getInt32(off + 8, true);
    const type = dv.getInt32(off + 12, true);
    if (level === SOL_IP && type === IP_ORIGDSTADDR) {
      return decodeSockaddrIn(control, off + CMSGHDR_SIZE, len - CMSGHDR_SIZE);
    }
    off += cmsgAlign(len);
  }
  return null;
}
