/**
 * The vocabulary of the gateway session core: where a control message came from ({@link Ingress}),
 * what the core is fed ({@link SessionInput}) and what it asks the adapters to do ({@link Effect}).
 * The core is pure: every socket, resolver, relay or nft hole lives behind an effect/input pair,
 * so the classical, transparent and pinhole modes share it and differ only in their adapters.
 */
import type {
  NtalkCtlMsg,
  NtalkCtlResponse,
  OtalkCtlMsg,
  OtalkCtlResponse,
} from '../../protocol/talk-types.js';
import type { AuditEvent } from '../audit/audit-log.js';

export type Side = 'inside' | 'outside';
export type TalkProtocol = 'ntalk' | 'otalk';
export type Direction = 'outbound' | 'inbound';

/** An IPv4 UDP/TCP endpoint. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * How a client's control request reached the gateway. Classical mode: addressed to one of the
 * gateway's faces (`originalDestination` absent). Transparent/pinhole: intercepted on its way to
 * `originalDestination` (replies must then appear to come from it).
 */
export interface Ingress {
  /** The network the request came from. */
  readonly side: Side;
  readonly protocol: TalkProtocol;
  /** UDP source of the datagram (replies go here, as netkit does: never to the claimed ctl_addr). */
  readonly source: Endpoint;
  readonly originalDestination?: Endpoint;
  /** Opaque adapter handle of the socket the request arrived on; replies leave through it. */
  readonly face?: string;
  /**
   * Set only by the peer link (issue 15): the request came over the authenticated TLS link of the
   * configured peer gateway `name`, for its call `callId`. A request from a peer's address
   * without it (a UDP datagram) is dropped.
   */
  readonly peer?: PeerOrigin;
}

/** Which peer gateway (authenticated) sent a message, and its own call id. */
export interface PeerOrigin {
  readonly name: string;
  readonly callId?: string;
}

/** A decoded client request. */
export type AnyRequest = { readonly protocol: 'ntalk'; readonly msg: NtalkCtlMsg } | { readonly protocol: 'otalk'; readonly msg: OtalkCtlMsg };
/** A decoded daemon response. */
export type AnyResponse =
  | { readonly protocol: 'ntalk'; readonly msg: NtalkCtlResponse }
  | { readonly protocol: 'otalk'; readonly msg: OtalkCtlResponse };

/** What the core needs from a data path (a TCP relay, or a pinhole in the pinhole mode). */
export interface DataPathRequest {
  readonly callId: string;
  /** The side whose party (the callee) will connect. */
  readonly listenSide: Side;
  /** The gateway address on that side to listen on. */
  readonly listenAddress: string;
  /** The only IPv4 address allowed to connect (the callee's host). */
  readonly expectedPeer: string;
  /** The caller's TCP rendezvous address, where the data path connects onward. */
  readonly target: Endpoint;
  /** Local address for the onward connection (the gateway's address on the caller's side). */
  readonly bindAddress: string;
  /** The listener closes when unused this long after opening. */
  readonly acceptDeadlineMs: number;
  /**
   * Legs to peer gateways (issue 15), carried over mutually authenticated TLS: `listen` the peer
   * that connects to the listener, `connect` the peer the onward connection goes to.
   */
  readonly peerTls?: { readonly listen?: string; readonly connect?: string };
}

export type DataPathOpenResult =
  | { readonly ok: true; readonly address: string; readonly port: number }
  | { readonly ok: false; readonly reason: string; readonly detail: string };

export type SessionInput =
  | { readonly kind: 'request'; readonly ingress: Ingress; readonly request: AnyRequest }
  /** A daemon's answer; `peer`: it came over that peer gateway's authenticated link. */
  | { readonly kind: 'response'; readonly side: Side; readonly source: Endpoint; readonly response: AnyResponse; readonly peer?: PeerOrigin }
  /** A request of the call could not be carried to a peer gateway (its link failed or did not authenticate). */
  | { readonly kind: 'peerFailed'; readonly callId: string; readonly code: 'peer-unauthenticated' | 'peer-unreachable'; readonly detail: string }
  | { readonly kind: 'resolved'; readonly callId: string; readonly address: string | null }
  | { readonly kind: 'dataPathOpened'; readonly callId: string; readonly result: DataPathOpenResult }
  | { readonly kind: 'dataPathConnected'; readonly callId: string; readonly peer: string; readonly target: string }
  | {
      readonly kind: 'dataPathEnded';
      readonly callId: string;
      readonly bytesIn: number;
      readonly bytesOut: number;
      readonly durationMs: number;
      readonly reason: string;
    }
  | { readonly kind: 'dataPathRefused'; readonly callId: string; readonly from: string }
  /** The data path accepted the expected peer's connection: a ringing call is answered. */
  | { readonly kind: 'dataPathAccepted'; readonly callId: string; readonly from: string }
  /** An administrator ended the call (admin listener, bearer token): `actor` goes into the audit record as `endedBy`. */
  | { readonly kind: 'endedByAdmin'; readonly callId: string; readonly actor: string }
  | { readonly kind: 'tick' };

export type LogLevel = 'debug' | 'info' | 'warn';

export type Effect =
  /** Answer a client, in its own protocol, from where it sent the request. */
  | { readonly kind: 'reply'; readonly callId?: string; readonly ingress: Ingress; readonly response: AnyResponse }
  /**
   * Send a request as a talk client from the gateway's client socket on `side`; with `from`
   * (transparent mode, inbound intercepted calls) from that foreign address instead, so the inside
   * daemon announces the real outside caller. The adapter fills ctl_addr with the source it used.
   */
  | { readonly kind: 'request'; readonly callId: string; readonly side: Side; readonly to: Endpoint; readonly request: AnyRequest; readonly from?: string }
  /** Resolve `name` in the name context of `side`; answer with a `resolved` input. */
  | { readonly kind: 'resolve'; readonly callId: string; readonly side: Side; readonly name: string }
  | { readonly kind: 'openDataPath'; readonly request: DataPathRequest }
  | { readonly kind: 'closeDataPath'; readonly callId: string }
  | { readonly kind: 'audit'; readonly record: { readonly event: AuditEvent; readonly callId: string; readonly [k: string]: unknown } }
  | { readonly kind: 'log'; readonly level: LogLevel; readonly callId?: string; readonly msg: string; readonly fields?: Record<string, unknown> }
  | { readonly kind: 'count'; readonly counter: SessionCounter; readonly label?: string };

/** Counters the core increments (adapters map them to metrics). */
export type SessionCounter =
  | 'requests'
  | 'responses'
  | 'dropped_rate'
  /** A new-call ANNOUNCE refused (dropped, unanswered) by the global per-side new-call bound. */
  | 'dropped_global_rate'
  | 'dropped_spoof'
  /** A UDP datagram from a configured peer gateway's address: peers speak over their TLS link only. */
  | 'dropped_peer_datagram'
  /** A new call refused a slot by the call table's fair shares (label: the ShareRefusal code). */
  | 'calls_refused_share'
  /** An ANNOUNCE from an address for a callee it already rings, taken as a repeat of that call. */
  | 'announces_merged'
  | 'dropped_unmatched_response'
  | 'calls_requested'
  /** Calls rebuilt from the daemons on a LOOK_UP for a call this node never saw (HA, call-recovery.ts). */
  | 'calls_rebuilt'
  | 'calls_refused'
  | 'calls_rung'
  | 'calls_connected'
  | 'calls_ended';
