/** Root of every error talkgate throws on purpose; `code` is stable and meant for comparison. */
export class TalkError extends Error {
  override readonly name: string = 'TalkError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
