/**
 * posix_openpt() through libc: a real pseudo-terminal, for tests and lab tools that need a tty a
 * talk daemon can write its announcement to. Returns the master fd and the slave's /dev path.
 */
import koffi from 'koffi';
import { TalkError } from '../shared/talk-error.js';

const O_RDWR = 0o2;
const O_NOCTTY = 0o400;

export interface Pty {
  readonly masterFd: number;
  /** e.g. /dev/pts/3 */
  readonly slavePath: string;
}

export function openPty(): Pty {
  const lib = koffi.load('libc.so.6');
  const posixOpenpt = lib.func('int posix_openpt(int flags)');
  const grantpt = lib.func('int grantpt(int fd)');
  const unlockpt = lib.func('int unlockpt(int fd)');
  const ptsname = lib.func('const char *ptsname(int fd)');
  const fd = posixOpenpt(O_RDWR | O_NOCTTY) as number;
  if (fd < 0) throw new TalkError('PTY_OPEN', `posix_openpt failed: errno ${koffi.errno()}`);
  if ((grantpt(fd) as number) !== 0 || (unlockpt(fd) as number) !== 0) throw new TalkError('PTY_OPEN', `grantpt/unlockpt failed: errno ${koffi.errno()}`);
  const path = ptsname(fd) as string | null;
  if (path === null) throw new TalkError('PTY_OPEN', 'ptsname failed');
  return { masterFd: fd, slavePath: path };
}
