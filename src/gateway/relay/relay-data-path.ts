/**
 * The TCP relay as a gateway data path (classical and transparent modes): one listener per call
 * on the callee's side, admitting only the expected peer, connecting onward to the caller's
 * rendezvous address, the conversation sanitised in between (relay-manager.ts).
 *
 * The relay runs on a thread of its own (relay-thread.ts, issue 18): sanitising an escape-heavy
 * stream costs CPU per byte, and on the control thread it delayed LOOK_UPs and `/healthz` by tens
 * of milliseconds at p99 however finely it was sliced. Here the control thread only exchanges small
 * messages with it. Live byte counts lag by at most RELAY_BYTES_REPORT_MS; a call's end carries its
 * exact final counts. A relay thread that dies ends its calls ("relay-thread-exit") and the next
 * open starts a new one.
 */
import { Worker } from 'node:worker_threads';
import type { DataPath, DataPathBytes, DataPathEvents } from '../modes/data-path.js';
import type { DataPathOpenResult, DataPathRequest } from '../session/session-types.js';
import { RELAY_THREAD_WAIT_MS } from './relay-constants.js';
import type { FromRelayThread, RelayThreadInit, ToRelayThread } from './relay-thread-messages.js';
import type { RelayLogger, RelayOpenResult } from './relay-types.js';
import type { PeerTlsLegSpec } from '../peering/peer-tls-leg.js';

export interface RelayDataPathOptions {
  readonly portRange: { readonly min: number; readonly max: number };
  readonly maxRelays: number;
  readonly idleTimeoutMs: number;
  readonly maxDurationMs: number;
  readonly sanitize: boolean;
  readonly logger: RelayLogger;
  readonly events: DataPathEvents;
  /** The TLS leg to a configured peer gateway by name (issue 15); absent: no peering. */
  readonly peerTls?: (peerName: string) => PeerTlsLegSpec | undefined;
}

/** End reason of the calls of a relay thread that exited unexpectedly. */
const THREAD_EXIT_REASON = 'relay-thread-exit';

export class RelayDataPath implements DataPath {
  readonly kind = 'relay';
  readonly #o: RelayDataPathOptions;
  #thread: Worker | undefined;
  #seq = 0;
  readonly #waiting = new Map<number, (m: FromRelayThread) => void>();
  /** Calls with an open relay, and their bytes so far (as reported by the thread). */
  readonly #calls = new Map<string, { bytesIn: number; bytesOut: number }>();
  #stopping = false;

  constructor(o: RelayDataPathOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    await this.#ensureThread();
  }

  async open(r: DataPathRequest): Promise<DataPathOpenResult> {
    const leg = (name: string | undefined): PeerTlsLegSpec | undefined => (name === undefined ? undefined : this.#o.peerTls?.(name));
    const listen = leg(r.peerTls?.listen);
    const connect = leg(r.peerTls?.connect);
    if ((r.peerTls?.listen !== undefined && listen === undefined) || (r.peerTls?.connect !== undefined && connect === undefined)) {
      return { ok: false, reason: 'error', detail: 'no TLS material for the peer gateway' };
    }
    const thread = await this.#ensureThread();
    const reply = await this.#ask(thread, (seq) => ({
      t: 'open',
      seq,
      ...(listen !== undefined || connect !== undefined ? { tls: { ...(listen !== undefined ? { listen } : {}), ...(connect !== undefined ? { connect } : {}) } } : {}),
      req: {
        callId: r.callId,
        listenAddress: r.listenAddress,
        expectedPeer: r.expectedPeer,
        target: { address: r.target.address, port: r.target.port },
        bindAddress: r.bindAddress,
        acceptDeadlineMs: r.acceptDeadlineMs,
        idleTimeoutMs: this.#o.idleTimeoutMs,
        maxDurationMs: this.#o.maxDurationMs,
        sanitize: this.#o.sanitize,
      },
    }));
    const res: RelayOpenResult = reply?.t === 'opened' ? reply.result : { ok: false, reason: 'error', detail: 'the relay thread did not answer' };
    if (res.ok) this.#calls.set(r.callId, { bytesIn: 0, bytesOut: 0 });
    return res.ok ? { ok: true, address: r.listenAddress, port: res.port } : { ok: false, reason: res.reason, detail: res.detail };
  }

  /** A relay listener lives until its accept deadline whatever the announces: nothing to renew. */
  renew(): void {}

  close(callId: string): void {
    this.#post({ t: 'close', callId });
  }

  bytes(callId: string): DataPathBytes | undefined {
    return this.#calls.get(callId);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const thread = this.#thread;
    if (thread === undefined) return;
    // Every relay ends ("shutdown", its onEnded reported) before the thread goes.
    await this.#ask(thread, (seq) => ({ t: 'stop', seq }));
    this.#thread = undefined;
    await thread.terminate();
  }

  async #ensureThread(): Promise<Worker> {
    if (this.#thread !== undefined) return this.#thread;
    const init: RelayThreadInit = { portRange: this.#o.portRange, maxRelays: this.#o.maxRelays };
    const thread = new Worker(new URL('./relay-thread.js', import.meta.url), { workerData: init });
    this.#thread = thread;
    thread.on('message', (m: FromRelayThread) => this.#onMessage(m));
    thread.on('error', (err) => this.#o.logger.error({ err: String(err) }, 'relay thread failed'));
    thread.on('exit', (code) => this.#onExit(thread, code));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the relay thread did not start')), RELAY_THREAD_WAIT_MS);
      thread.once('online', () => {
        clearTimeout(timer);
        resolve();
      });
      thread.once('exit', () => {
        clearTimeout(timer);
        reject(new Error('the relay thread exited at start'));
      });
    });
    return thread;
  }

  #post(m: ToRelayThread): void {
    this.#thread?.postMessage(m);
  }

  #ask(thread: Worker, make: (seq: number) => ToRelayThread): Promise<FromRelayThread | undefined> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(seq);
        resolve(undefined);
      }, RELAY_THREAD_WAIT_MS);
      this.#waiting.set(seq, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      thread.postMessage(make(seq));
    });
  }

  #onMessage(m: FromRelayThread): void {
    const ev = this.#o.events;
    switch (m.t) {
      case 'opened':
      case 'stopped': {
        const w = this.#waiting.get(m.seq);
        this.#waiting.delete(m.seq);
        w?.(m);
        return;
      }
      case 'accepted':
        return ev.onAccepted?.(m.callId, m.from);
      case 'connected':
        return ev.onConnected(m.callId, { peer: m.peer, target: m.target });
      case 'refused':
        return ev.onRefusedConnection?.(m.callId, m.from);
      case 'bytes':
        for (const [callId, bytesIn, bytesOut] of m.counts) {
          const c = this.#calls.get(callId);
          if (c !== undefined) {
            c.bytesIn += bytesIn;
            c.bytesOut += bytesOut;
          }
          if (bytesIn > 0) ev.onBytes?.(callId, 'in', bytesIn);
          if (bytesOut > 0) ev.onBytes?.(callId, 'out', bytesOut);
        }
        return;
      case 'ended':
        this.#calls.delete(m.callId);
        return ev.onEnded(m.callId, m.info);
      case 'log':
        return this.#o.logger[m.level](m.obj, m.msg);
    }
  }

  /** The thread is gone: its calls are over; the next open starts a new thread. */
  #onExit(thread: Worker, code: number): void {
    if (this.#thread === thread) this.#thread = undefined;
    for (const [seq, w] of this.#waiting) {
      this.#waiting.delete(seq);
      w({ t: 'stopped', seq });
    }
    if (this.#stopping) return;
    this.#o.logger.error({ code }, 'relay thread exited; its calls ended');
    for (const [callId, c] of [...this.#calls]) {
      this.#calls.delete(callId);
      this.#o.events.onEnded(callId, { bytesIn: c.bytesIn, bytesOut: c.bytesOut, durationMs: 0, reason: THREAD_EXIT_REASON });
    }
  }
}
