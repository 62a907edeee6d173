/**
 * Messages between the control thread and the relay thread (relay-thread-data-path.ts,
 * relay-thread.ts). Both ends are this program's own code in one process, so the shapes are typed,
 * not parsed: no peer byte crosses this channel, only requests, events, counts and log records.
 */
import type { PeerTlsLegSpec } from '../peering/peer-tls-leg.js';
import type { RelayEndInfo, RelayOpenRequest, RelayOpenResult } from './relay-types.js';

/** What the relay thread needs at start. */
export interface RelayThreadInit {
  readonly portRange: { readonly min: number; readonly max: number };
  readonly maxRelays: number;
}

export type ToRelayThread =
  | {
      readonly t: 'open';
      readonly seq: number;
      readonly req: Omit<RelayOpenRequest, 'tls'>;
      /** Legs to peer gateways (issue 15), built on the relay thread from their material. */
      readonly tls?: { readonly listen?: PeerTlsLegSpec; readonly connect?: PeerTlsLegSpec };
    }
  | { readonly t: 'close'; readonly callId: string }
  | { readonly t: 'stop'; readonly seq: number };

export type RelayLogLevel = 'info' | 'warn' | 'error';

export type FromRelayThread =
  | { readonly t: 'opened'; readonly seq: number; readonly result: RelayOpenResult }
  | { readonly t: 'stopped'; readonly seq: number }
  | { readonly t: 'accepted'; readonly callId: string; readonly from: string }
  | { readonly t: 'connected'; readonly callId: string; readonly peer: string; readonly target: string }
  | { readonly t: 'refused'; readonly callId: string; readonly from: string }
  /** Bytes read since the last report, per call and direction: [callId, in, out]. */
  | { readonly t: 'bytes'; readonly counts: ReadonlyArray<readonly [string, number, number]> }
  | { readonly t: 'ended'; readonly callId: string; readonly info: RelayEndInfo }
  | { readonly t: 'log'; readonly level: RelayLogLevel; readonly obj: object; readonly msg: string | undefined };
