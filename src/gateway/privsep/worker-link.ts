/**
 * The worker's end of the privileged interface: requests go out over the IPC channel with an id
 * and are answered by the privileged process; its data-path events come back the same way. The
 * worker's local-holes data path ({@link RemoteHoles}) and its foreign sender are thin proxies.
 * Bounded: at most MAX_PENDING requests in flight, each answered or failed within REQUEST_TIMEOUT_MS.
 */
import type { DataPath, DataPathEvents } from '../modes/data-path.js';
import type { ForeignSender } from '../io/transparent-ingress.js';
import type { DataPathOpenResult, DataPathRequest } from '../session/session-types.js';
import type { PrivilegedReply, ToWorker } from './privsep-messages.js';

/** Requests in flight at once (the holes are bounded by max_calls far below this). */
export const MAX_PENDING = 4_096;
/** A request the privileged side has not answered by then fails (an nft transaction takes ms). */
export const REQUEST_TIMEOUT_MS = 10_000;

type Reply = PrivilegedReply;

export class WorkerLink {
  readonly #send: (m: unknown) => void;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; timer: NodeJS.Timeout }>();
  #next = 1;
  events: DataPathEvents | undefined;

  constructor(send: (message: unknown) => void) {
    this.#send = send;
  }

  request(op: string, payload: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.#next++;
    if (this.#pending.size >= MAX_PENDING) return Promise.resolve({ t: 'res', id, ok: false, code: 'send-failed', message: 'too many privileged requests in flight' });
    return new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ t: 'res', id, ok: false, code: 'send-failed', message: 'privileged side did not answer' });
      }, REQUEST_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(id, { resolve, timer });
      this.#send({ t: 'req', req: { id, op, ...payload } });
    });
  }

  /** Dispatches one message from the privileged process; returns false when it is not for the link. */
  onMessage(m: ToWorker): boolean {
    if (m.t === 'res') {
      const p = this.#pending.get(m.id);
      if (p === undefined) return true;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      p.resolve(m);
      return true;
    }
    if (m.t === 'event') {
      if (m.kind === 'connected') this.events?.onConnected(m.callId, m.info);
      else this.events?.onEnded(m.callId, m.info);
      return true;
    }
    return false;
  }

  /** Datagrams from foreign addresses leave through the privileged side (fire and forget). */
  readonly sendFrom: ForeignSender = (bytes, route) => {
    void this.request('sendFrom', { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), from: route.from, to: route.to });
  };
}

/** The local nftables holes, opened by the privileged process on this worker's behalf. */
export class RemoteHoles implements DataPath {
  readonly kind = 'nft-holes';
  readonly #link: WorkerLink;

  constructor(link: WorkerLink) {
    this.#link = link;
  }

  /** The privileged side replaced its table before this worker started. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  async open(request: DataPathRequest): Promise<DataPathOpenResult> {
    const r = await this.#link.request('open', { request });
    if (!r.ok) return { ok: false, reason: r.code, detail: r.message };
    return r.result as DataPathOpenResult;
  }

  renew(callId: string): void {
    void this.#link.request('renew', { callId });
  }

  close(callId: string): void {
    void this.#link.request('close', { callId });
  }

  async stop(): Promise<void> {
    await this.#link.request('flush');
  }
}
