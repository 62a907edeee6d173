/** The JSON status a running gateway serves on its admin listener (`talkgate status` reads it). */

export type CallState = 'resolving' | 'opening' | 'announcing' | 'ringing' | 'answered' | 'connected';

export interface GatewayCallStatus {
  /** e.g. "c-000042". */
  readonly callId: string;
  readonly direction: 'outbound' | 'inbound';
  /** `user@address` of the caller as the gateway saw it (sanitised). */
  readonly caller: string;
  /** `user@host` of the callee (sanitised). */
  readonly callee: string;
  readonly state: CallState;
  /** ISO 8601 time the call entered its current state. */
  readonly since: string;
  /** The data path (relay) port, once open. */
  readonly relayPort?: number;
}

export interface GatewayStatus {
  readonly mode: 'classical' | 'transparent' | 'pinhole';
  readonly calls: readonly GatewayCallStatus[];
  /** Monotonic totals since start (requests, calls_requested, calls_refused, ...). */
  readonly counters: Readonly<Record<string, number>>;
}
