/**
 * The frames of the TLS link between two peer gateways (issue 15): one JSON object per line,
 * each carrying one talk control message as the exact bytes a UDP datagram would (decoded by the
 * same codecs at the receiving edge) plus the sender's call id for correlation. Pure; the link
 * adapter is peer-links.ts. A frame is at most {@link MAX_PEER_FRAME_BYTES}; anything else is a
 * protocol error that closes the link.
 */
import { z } from 'zod';
import { TalkError } from '../../shared/talk-error.js';

/**
 * Largest frame line: an 84-byte ntalk CTL_MSG is 168 hex digits; with the call id and the
 * keys 512 bytes is ample, and bounds what a peer can make the worker buffer per link.
 */
export const MAX_PEER_FRAME_BYTES = 512;
/** Largest control message carried (the same bound as a control datagram at a face). */
const MAX_CTL_BYTES = 128;

const callId = z.string().regex(/^c-\d{6}$/);
const hex = z
  .string()
  .regex(/^([0-9a-f]{2})+$/)
  .max(2 * MAX_CTL_BYTES);

const frameSchema = z.discriminatedUnion('t', [
  /** A control request (ANNOUNCE, DELETE, …) of the sender's call `callId`, in `protocol`. */
  z.strictObject({ t: z.literal('req'), protocol: z.enum(['ntalk', 'otalk']), callId, msg: hex }),
  /** The answer to the last request, from the answering gateway's call `callId` (absent: no call). */
  z.strictObject({ t: z.literal('res'), protocol: z.enum(['ntalk', 'otalk']), callId: callId.optional(), msg: hex }),
]);

export type PeerFrame =
  | { readonly t: 'req'; readonly protocol: 'ntalk' | 'otalk'; readonly callId: string; readonly msg: Uint8Array }
  | { readonly t: 'res'; readonly protocol: 'ntalk' | 'otalk'; readonly callId?: string; readonly msg: Uint8Array };

/** One line (with its newline) for `frame`. */
export function encodePeerFrame(frame: PeerFrame): string {
  return `${JSON.stringify({ ...frame, msg: Buffer.from(frame.msg).toString('hex') })}\n`;
}

/** Parses one line (without its newline); throws TalkError on anything but an exact frame. */
export function decodePeerFrame(line: string): PeerFrame {
  if (line.length > MAX_PEER_FRAME_BYTES) throw new TalkError('PEER_FRAME', `peer frame of ${line.length} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new TalkError('PEER_FRAME', 'peer frame is not JSON');
  }
  const r = frameSchema.safeParse(raw);
  if (!r.success) throw new TalkError('PEER_FRAME', `malformed peer frame: ${r.error.issues[0]?.message ?? 'invalid'}`);
  const msg = new Uint8Array(Buffer.from(r.data.msg, 'hex'));
  return r.data.t === 'req'
    ? { t: 'req', protocol: r.data.protocol, callId: r.data.callId, msg }
    : { t: 'res', protocol: r.data.protocol, ...(r.data.callId !== undefined ? { callId: r.data.callId } : {}), msg };
}

/**
 * Splits a byte stream into frame lines, bounded: a line longer than MAX_PEER_FRAME_BYTES throws
 * (the link is closed) instead of buffering without end.
 */
export class PeerFrameSplitter {
  #buf = '';

  /** The complete lines in `chunk` (and what was left before it). */
  push(chunk: string): string[] {
    this.#buf += chunk;
    const lines = this.#buf.split('\n');
    this.#buf = lines.pop() ?? '';
    if (this.#buf.length > MAX_PEER_FRAME_BYTES) throw new TalkError('PEER_FRAME', 'peer frame too long');
    return lines.filter((l) => l !== '');
  }
}
