/**
 * The data-path seam of a gateway mode: how a call's conversation crosses the gateway once the
 * session core has decided to let it. One implementation per kind: the TCP relay (classical,
 * transparent), local nftables holes (pinhole; in the privileged process), holes on a remote PCP
 * middlebox (pinhole with [middlebox]). The runtime only ever talks to this interface.
 */
import type { DataPathOpenResult, DataPathRequest } from '../session/session-types.js';

/** What a data path reports back to the session core. */
export interface DataPathEvents {
  /**
   * The relay accepted the expected peer's connection (before connecting onward): the callee
   * answered, even where its LOOK_UP went elsewhere (a chained gateway asked its own).
   */
  onAccepted?(callId: string, from: string): void;
  /** The callee's connection took the path (relay accepted it, or a flow consumed the hole). */
  onConnected(callId: string, info: { readonly peer: string; readonly target: string }): void;
  onEnded(callId: string, info: { readonly bytesIn: number; readonly bytesOut: number; readonly durationMs: number; readonly reason: string }): void;
  /** A connection from someone other than the expected peer was refused (relay only). */
  onRefusedConnection?(callId: string, from: string): void;
  /** Bytes crossed while the call is live (relay only; kernel holes report at the end). */
  onBytes?(callId: string, direction: 'in' | 'out', bytes: number): void;
}

/** Live bytes of a call, when the data path can tell (the relay can; kernel holes report at the end). */
export interface DataPathBytes {
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface DataPath {
  /** Stable name of the kind ("relay", "nft-holes", "pcp", ...), for status and logs. */
  readonly kind: string;
  /** Prepares the path (e.g. replaces the nftables table) before any face listens. */
  start(): Promise<void>;
  /** Opens the call's path; resolves once it is usable (a hole committed, a listener bound). */
  open(request: DataPathRequest): Promise<DataPathOpenResult>;
  /** The call was (re-)announced: keep its unused path alive as long again. */
  renew(callId: string): void;
  /** The core ended the call: tear its path down. */
  close(callId: string): void;
  /** Live byte counts of a call, if known. */
  bytes?(callId: string): DataPathBytes | undefined;
  /** Closes every path; the gateway is stopping. */
  stop(): Promise<void>;
}
