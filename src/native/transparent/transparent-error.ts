import { TalkError } from '../../shared/talk-error.js';
import { Errno, errnoName } from '../socket-abi.js';

/**
 * Stable codes of the transparent-interception layer:
 * - TRANSPARENT_PERMISSION: the kernel refused for lack of privilege (EPERM/EACCES: IP_TRANSPARENT
 *   needs CAP_NET_ADMIN or CAP_NET_RAW; binding a foreign address needs IP_TRANSPARENT).
 * - TRANSPARENT_UNSUPPORTED: the platform or kernel lacks the feature (not LP64 Linux, ENOPROTOOPT,
 *   libc not loadable).
 * - TRANSPARENT_ADDRESS_IN_USE: bind() found the address taken by a socket without SO_REUSEADDR.
 * - NO_ORIGINAL_DST: SO_ORIGINAL_DST found no NAT/redirect entry for this connection (ENOENT).
 * - TRANSPARENT_CLOSED: the socket was used after close().
 * - TRANSPARENT_SYSCALL: any other failing call (see `syscall` and `errno`).
 */
export type TransparentErrorCode =
  | 'TRANSPARENT_PERMISSION'
  | 'TRANSPARENT_UNSUPPORTED'
  | 'TRANSPARENT_ADDRESS_IN_USE'
  | 'NO_ORIGINAL_DST'
  | 'TRANSPARENT_CLOSED'
  | 'TRANSPARENT_SYSCALL';

export class TransparentSocketError extends TalkError {
  override readonly name = 'TransparentSocketError';
  override readonly code: TransparentErrorCode;
  /** The failing libc call, e.g. `setsockopt(IP_TRANSPARENT)`; '' when not a syscall failure. */
  readonly syscall: string;
  /** errno of the failing call, 0 when not a syscall failure. */
  readonly errno: number;

  constructor(code: TransparentErrorCode, message: string, syscall = '', errno = 0, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
    this.syscall = syscall;
    this.errno = errno;
  }

  /** Maps a failing call's errno to the right code, with a message saying what to do. */
  static fromErrno(syscall: string, errno: number, what: string): TransparentSocketError {
    const name = errnoName(errno);
    if (errno === Errno.EPERM || errno === Errno.EACCES) {
      return new TransparentSocketError(
        'TRANSPARENT_PERMISSION',
        `${what}: ${syscall} failed with ${name}: transparent interception needs CAP_NET_ADMIN (run as root or grant the capability)`,
        syscall,
        errno,
      );
    }
    if (errno === Errno.ENOPROTOOPT) {
      return new TransparentSocketError(
        'TRANSPARENT_UNSUPPORTED',
        `${what}: ${syscall} failed with ${name}: this kernel does not support the option`,
        syscall,
        errno,
      );
    }
    if (errno === Errno.EADDRINUSE) {
      return new TransparentSocketError('TRANSPARENT_ADDRESS_IN_USE', `${what}: ${syscall} failed with ${name}`, syscall, errno);
    }
    return new TransparentSocketError('TRANSPARENT_SYSCALL', `${what}: ${syscall} failed with ${name}`, syscall, errno);
  }
}
