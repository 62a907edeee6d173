import { TalkError } from '../shared/talk-error.js';

/**
 * A datagram that cannot be a well-formed message. Carries the field and byte offset at fault,
 * so a receive loop can count, log (sanitised) and drop it.
 */
export class DecodeError extends TalkError {
  override readonly name = 'DecodeError';
  readonly field: string;
  readonly offset: number;

  constructor(field: string, offset: number, detail: string) {
    super('TALK_ERR_DECODE', `Cannot decode ${field} at offset ${offset}: ${detail}`);
    this.field = field;
    this.offset = offset;
  }
}

/** A message that cannot be encoded (a field out of range). */
export class EncodeError extends TalkError {
  override readonly name = 'EncodeError';
  readonly field: string;

  constructor(field: string, detail: string) {
    super('TALK_ERR_ENCODE', `Cannot encode ${field}: ${detail}`);
    this.field = field;
  }
}
