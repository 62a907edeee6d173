/**
 * The worker's end of privilege separation, for any talkgate daemon: requests go to the
 * privileged process over the IPC channel with an id and come back answered. Bounded: at most
 * MAX_PENDING requests in flight, each answered or failed within REQUEST_TIMEOUT_MS.
 */

/** Requests in flight at once. */
export const MAX_PENDING = 4_096;
/** A request the privileged side has not answered by then fails (an nft transaction takes ms). */
export const REQUEST_TIMEOUT_MS = 10_000;

/** An answer: ok with a result, or a typed refusal code with a message. */
export type ChannelReply =
  | { readonly t: 'res'; readonly id: number; readonly ok: true; readonly result?: unknown }
  | { readonly t: 'res'; readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

/** The code of a request that never got an answer. */
export const NO_ANSWER = 'send-failed';

export class PrivilegedChannel {
  readonly #send: (m: unknown) => void;
  readonly #pending = new Map<number, { resolve: (r: ChannelReply) => void; timer: NodeJS.Timeout }>();
  #next = 1;

  constructor(send: (message: unknown) => void) {
    this.#send = send;
  }

  request(op: string, payload: Record<string, unknown> = {}): Promise<ChannelReply> {
    const id = this.#next++;
    if (this.#pending.size >= MAX_PENDING) return Promise.resolve({ t: 'res', id, ok: false, code: NO_ANSWER, message: 'too many privileged requests in flight' });
    return new Promise<ChannelReply>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ t: 'res', id, ok: false, code: NO_ANSWER, message: 'privileged side did not answer' });
      }, REQUEST_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(id, { resolve, timer });
      this.#send({ t: 'req', req: { id, op, ...payload } });
    });
  }

  /** Takes a reply; returns false when the message is not a reply. */
  onMessage(m: { readonly t: string }): boolean {
    if (m.t !== 'res') return false;
    const r = m as ChannelReply;
    const p = this.#pending.get(r.id);
    if (p === undefined) return true;
    this.#pending.delete(r.id);
    clearTimeout(p.timer);
    p.resolve(r);
    return true;
  }
}
