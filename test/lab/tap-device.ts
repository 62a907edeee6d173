/**
 * A TAP device for the lab's delay line: open /dev/net/tun (non-blocking) and attach it to a new
 * Ethernet interface with ioctl(TUNSETIFF, IFF_TAP | IFF_NO_PI) (Documentation/networking/tuntap.rst).
 * The interface lives in the caller's network namespace as long as the fd is open (not persistent:
 * it disappears with the process that holds it). ioctl is bound here with koffi, beside the
 * project's libc binding (src/native/libc.ts), which has no ioctl: the lab is its only user.
 */
import { closeSync, constants, openSync } from 'node:fs';
import koffi from 'koffi';

export const TUN_DEVICE = '/dev/net/tun';
/** <linux/if_tun.h>: TUNSETIFF = _IOW('T', 202, int). */
const TUNSETIFF = 0x400454ca;
/** <linux/if_tun.h>: an Ethernet (TAP) device, frames without the 4-byte packet-information header. */
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
/** <linux/if.h>: struct ifreq is IFNAMSIZ (16) bytes of name and a 24-byte union (LP64), ifr_flags at 16. */
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const IFR_FLAGS_OFFSET = 16;

let ioctlFn: ((fd: number, request: number, ...args: unknown[]) => number) | undefined;

function ioctl(): (fd: number, request: number, ...args: unknown[]) => number {
  if (ioctlFn === undefined) {
    const f = koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request, ...)');
    ioctlFn = (fd, request, ...args) => f(fd, request, ...args) as number;
  }
  return ioctlFn;
}

/**
 * Creates TAP interface `name` (at most 15 characters) and returns its non-blocking fd, which the
 * caller owns: reading it gives the frames the kernel sends out of the interface, writing it
 * injects frames the interface receives. Throws with the errno when the kernel refuses.
 */
export function openTap(name: string): number {
  if (name.length === 0 || name.length >= IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`bad TAP interface name: ${name}`);
  const fd = openSync(TUN_DEVICE, constants.O_RDWR | constants.O_NONBLOCK);
  const req = Buffer.alloc(IFREQ_SIZE);
  req.write(name, 0, 'latin1');
  req.writeUInt16LE(IFF_TAP | IFF_NO_PI, IFR_FLAGS_OFFSET);
  if (ioctl()(fd, TUNSETIFF, 'void *', req) !== 0) {
    const errno = koffi.errno();
    closeSync(fd);
    throw new Error(`ioctl(TUNSETIFF, ${name}) failed: errno ${errno}`);
  }
  return fd;
}
