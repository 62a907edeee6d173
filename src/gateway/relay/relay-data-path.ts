/**
 * The TCP relay as a gateway data path (classical and transparent modes): one listener per call
 * on the callee's side, admitting only the expected peer, connecting onward to the caller's
 * rendezvous address, the conversation sanitised in between (relay-manager.ts).
 */
import type { Clock } from '../../shared/clock.js';
import type { DataPath, DataPathBytes, DataPathEvents } from '../modes/data-path.js';
import type { DataPathOpenResult, DataPathRequest } from '../session/session-types.js';
import { RelayManager, type RelayLogger } from './relay-manager.js';
import type { PeerTlsLeg } from '../peering/peer-links.js';

export interface RelayDataPathOptions {
  readonly portRange: { readonly min: number; readonly max: number };
  readonly maxRelays: number;
  readonly idleTimeoutMs: number;
  readonly maxDurationMs: number;
  readonly sanitize: boolean;
  readonly clock: Clock;
  readonly logger: RelayLogger;
  readonly events: DataPathEvents;
  /** The TLS leg to a configured peer gateway by name (issue 15); absent: no peering. */
  readonly peerTls?: (peerName: string) => PeerTlsLeg | undefined;
}

export class RelayDataPath implements DataPath {
  readonly kind = 'relay';
  readonly #o: RelayDataPathOptions;
  readonly #relay: RelayManager;

  constructor(o: RelayDataPathOptions) {
    this.#o = o;
    this.#relay = new RelayManager({
      portRange: o.portRange,
      maxRelays: o.maxRelays,
      clock: o.clock,
      logger: o.logger,
      events: {
        onAccepted: (callId, from) => o.events.onAccepted?.(callId, from),
        onConnected: (callId, info) => o.events.onConnected(callId, info),
        onEnded: (callId, info) => o.events.onEnded(callId, info),
        onRefusedConnection: (callId, from) => o.events.onRefusedConnection?.(callId, from),
        onBytes: (callId, direction, bytes) => o.events.onBytes?.(callId, direction, bytes),
      },
    });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  async open(r: DataPathRequest): Promise<DataPathOpenResult> {
    const leg = (name: string | undefined): PeerTlsLeg | undefined => (name === undefined ? undefined : this.#o.peerTls?.(name));
    const listen = leg(r.peerTls?.listen);
    const connect = leg(r.peerTls?.connect);
    if ((r.peerTls?.listen !== undefined && listen === undefined) || (r.peerTls?.connect !== undefined && connect === undefined)) {
      return { ok: false, reason: 'error', detail: 'no TLS material for the peer gateway' };
    }
    const res = await this.#relay.open({
      ...(listen !== undefined || connect !== undefined ? { tls: { ...(listen !== undefined ? { listen } : {}), ...(connect !== undefined ? { connect } : {}) } } : {}),
      callId: r.callId,
      listenAddress: r.listenAddress,
      expectedPeer: r.expectedPeer,
      target: r.target,
      bindAddress: r.bindAddress,
      acceptDeadlineMs: r.acceptDeadlineMs,
      idleTimeoutMs: this.#o.idleTimeoutMs,
      maxDurationMs: this.#o.maxDurationMs,
      sanitize: this.#o.sanitize,
    });
    return res.ok ? { ok: true, address: r.listenAddress, port: res.port } : { ok: false, reason: res.reason, detail: res.detail };
  }

  /** A relay listener lives until its accept deadline whatever the announces: nothing to renew. */
  renew(): void {}

  close(callId: string): void {
    this.#relay.close(callId);
  }

  bytes(callId: string): DataPathBytes | undefined {
    return this.#relay.stats(callId);
  }

  /** Ports listening now (tests, status). */
  listening(): number[] {
    return this.#relay.listening();
  }

  stop(): Promise<void> {
    this.#relay.closeAll();
    return Promise.resolve();
  }
}
