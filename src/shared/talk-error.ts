import { INTERNAL_ERROR_CODE, type ErrorCode } from './error-codes.js';

/** Root of every error talkgate throws on purpose; `code` is stable (error-codes.ts) and meant for comparison. */
export class TalkError extends Error {
  override readonly name: string = 'TalkError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The stable code of any thrown value: its registered code, or INTERNAL. */
export function errorCode(err: unknown): ErrorCode | typeof INTERNAL_ERROR_CODE {
  return err instanceof TalkError ? err.code : INTERNAL_ERROR_CODE;
}

/** "message (CODE)": what a command prints when it cannot go on. */
export function describeError(err: unknown): string {
  return `${err instanceof Error ? err.message : String(err)} (${errorCode(err)})`;
}
