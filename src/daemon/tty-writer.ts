/**
 * Writes an announcement to /dev/<tty> the way netkit announce() decides its answer, without
 * ever blocking the daemon: the tty is opened O_WRONLY|O_NOCTTY|O_NONBLOCK, EAGAIN is retried
 * every TTY_RETRY_INTERVAL_MS, and the whole write gives up after TTY_WRITE_TIMEOUT_MS (FAILED,
 * as ttymsg() in FreeBSD/inetutils).
 *   missing tty → FAILED; not a character device or group-write bit off → PERMISSION_DENIED;
 *   open fails → PERMISSION_DENIED; write error or timeout → FAILED; all written → SUCCESS.
 * A PERMISSION_DENIED outcome carries its typed reason (and the errno of a failed open).
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TTY_WRITE_TIMEOUT_MS } from '../protocol/constants.js';
import { Answer } from '../protocol/talk-types.js';
import { TTY_RETRY_INTERVAL_MS } from './daemon-limits.js';
import type { PermissionDeniedReason } from './permission-denied-reason.js';
import { isSafeTtyLine, TTY_GROUP_WRITE } from './user-lookup.js';

export interface TtyWriteOptions {
  readonly devDir: string;
  readonly timeoutMs?: number;
  /** Test hook: accept a non-character-device path (a FIFO) as a tty. */
  readonly allowNonTty?: boolean;
}

/** The answer of one announcement write; PERMISSION_DENIED says why. */
export type TtyWriteOutcome =
  | { readonly answer: typeof Answer.SUCCESS | typeof Answer.FAILED }
  | { readonly answer: typeof Answer.PERMISSION_DENIED; readonly reason: PermissionDeniedReason; readonly errno?: string };

const SUCCESS: TtyWriteOutcome = { answer: Answer.SUCCESS };
const FAILED: TtyWriteOutcome = { answer: Answer.FAILED };

export async function writeToTty(tty: string, text: Uint8Array, options: TtyWriteOptions): Promise<TtyWriteOutcome> {
  if (!isSafeTtyLine(tty)) return FAILED;
  const path = join(options.devDir, tty);
  let st;
  try {
    st = await stat(path);
  } catch {
    return FAILED;
  }
  if ((st.mode & TTY_GROUP_WRITE) === 0) return { answer: Answer.PERMISSION_DENIED, reason: 'mesg-n' };
  if (!st.isCharacterDevice() && !(options.allowNonTty === true)) {
    return { answer: Answer.PERMISSION_DENIED, reason: 'not-a-tty' };
  }
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      answer: Answer.PERMISSION_DENIED,
      reason: 'tty-open-failed',
      ...(typeof code === 'string' ? { errno: code } : {}),
    };
  }
  const deadline = Date.now() + (options.timeoutMs ?? TTY_WRITE_TIMEOUT_MS);
  try {
    let done = 0;
    while (done < text.byteLength) {
      if (Date.now() >= deadline) return FAILED;
      try {
        const { bytesWritten } = await handle.write(text, done, text.byteLength - done, null);
        done += bytesWritten;
      } catch (err: unknown) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return FAILED;
        await sleep(TTY_RETRY_INTERVAL_MS);
      }
    }
    return SUCCESS;
  } finally {
    await handle.close().catch(() => undefined);
  }
}
