/**
 * The shared libc binding (../libc.ts) as the transparent layer needs it: only on the LP64 Linux
 * targets its struct layouts are written for, and with load failures as TransparentSocketError.
 */
import { libc as loadLibc, type Libc } from '../libc.js';
import { supportedPlatform } from '../socket-abi.js';
import { TransparentSocketError } from './transparent-error.js';

export type { Libc } from '../libc.js';

export function libc(): Libc {
  if (!supportedPlatform()) {
    throw new TransparentSocketError(
      'TRANSPARENT_UNSUPPORTED',
      `transparent interception needs LP64 Linux (x64 or arm64); this is ${process.platform}/${process.arch}`,
    );
  }
  try {
    return loadLibc();
  } catch (cause) {
    throw new TransparentSocketError('TRANSPARENT_UNSUPPORTED', 'cannot load libc.so.6 with koffi', '', 0, { cause });
  }
}
