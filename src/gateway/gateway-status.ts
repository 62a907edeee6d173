/** The JSON status a running gateway serves on its admin listener (`talkgate status` reads it). */

export type CallState = 'resolving' | 'opening' | 'announcing' | 'ringing' | 'answered' | 'connected';

/** How a call's stream crosses the firewall (issue 16: relay port, nft hole with expiry, or remote PCP mapping). */
export type CallDataPath =
  | { readonly kind: 'relay'; readonly port: number }
  | { readonly kind: 'hole'; readonly port: number; /** ISO time the hole expires unless used. */ readonly expiresAt?: string }
  | { readonly kind: 'pcp'; readonly server: string; readonly externalPort?: number; readonly expiresAt?: string };

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
  /** ISO 8601 time the call was first seen (for its duration). */
  readonly startedAt?: string;
  /** The caller's and callee's tty as each side named it (sanitised). */
  readonly callerTty?: string;
  readonly calleeTty?: string;
  /** How the parties appear to the other side (e.g. the caller as the outside sees it). */
  readonly callerAsSeenOutside?: string;
  readonly calleeAsSeenInside?: string;
  readonly dataPath?: CallDataPath;
  /** Stream bytes relayed so far: inside → outside and outside → inside. */
  readonly bytesIn?: number;
  readonly bytesOut?: number;
}

/** A recently refused call (bounded ring, newest last). */
export interface GatewayRefusal {
  /** ISO 8601 time of the refusal. */
  readonly at: string;
  readonly callId?: string;
  /** Typed reason code (e.g. "policy-deny", "rate-limited", "table-full"). */
  readonly reason: string;
  /** Human text beside the code. */
  readonly message?: string;
  /** The policy rule that decided, as text (e.g. "deny inbound * 198.51.100.0/24"), or its index. */
  readonly rule?: string;
  readonly caller?: string;
  readonly callee?: string;
}

export interface GatewayStatus {
  readonly mode: 'classical' | 'transparent' | 'pinhole';
  readonly calls: readonly GatewayCallStatus[];
  /** Monotonic totals since start (requests, calls_requested, calls_refused, ...). */
  readonly counters: Readonly<Record<string, number>>;
  /** Recent refusals, when the runtime keeps them. */
  readonly refusals?: readonly GatewayRefusal[];
}
