/** The relay's contract with the gateway session core (issue 4; fixed between helpers E1 and E2). */
import type { PeerTlsLeg } from '../peering/peer-tls-leg.js';

export interface RelayOpenRequest {
  callId: string;
  /** Local address the per-call listener binds. */
  listenAddress: string;
  /** The only IPv4 address allowed to connect. */
  expectedPeer: string;
  /** Where the accepted connection is relayed to. */
  target: { address: string; port: number };
  /** Local address for the onward connect. */
  bindAddress?: string;
  /** The listener closes if nobody valid connects within this time. */
  acceptDeadlineMs: number;
  idleTimeoutMs: number;
  maxDurationMs: number;
  /** Neutralise escape sequences and C1/C0 controls in both directions after the edit characters. */
  sanitize: boolean;
  /**
   * Legs to peer gateways over mutually authenticated TLS (issue 15): `listen` wraps the accepted
   * connection (TLS server, client certificate required), `connect` the onward one (TLS client).
   */
  tls?: { listen?: PeerTlsLeg; connect?: PeerTlsLeg };
}

export type RelayOpenResult =
  | { ok: true; port: number }
  | { ok: false; reason: 'no-port' | 'limit' | 'error'; detail: string };

/** Bytes read from each side of a call so far. */
export interface RelayByteCounts {
  /** Bytes read from the peer that connected to the listener (forwarded to the target). */
  bytesIn: number;
  /** Bytes read from the target (forwarded to the peer). */
  bytesOut: number;
}

export interface RelayEndInfo {
  /** Bytes read from the peer that connected to the listener (forwarded to the target). */
  bytesIn: number;
  /** Bytes read from the target (forwarded to the peer). */
  bytesOut: number;
  /** Time from the relay's start (both connections up) to its end; 0 if it never relayed. */
  durationMs: number;
  /**
   * Why it ended: accept-timeout, connect-timeout, connect-error:CODE, peer-closed, target-closed,
   * peer-error:CODE, target-error:CODE, idle-timeout, max-duration, listener-error:CODE, closed, shutdown.
   */
  reason: string;
}

export interface RelayEvents {
  /** The expected peer's connection was accepted (before the onward connect): the callee answered. */
  onAccepted?(callId: string, from: string): void;
  onConnected(callId: string, info: { peer: string; target: string }): void;
  /** Exactly once per successfully opened relay. */
  onEnded(callId: string, info: RelayEndInfo): void;
  onRefusedConnection(callId: string, from: string): void;
  /** Bytes were read from one side (`in`: from the peer; `out`: from the target), as they flow. */
  onBytes?(callId: string, direction: 'in' | 'out', bytes: number): void;
}

/** The part of a pino logger the relay uses. */
export interface RelayLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): RelayLogger;
}
