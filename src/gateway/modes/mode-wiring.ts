/**
 * A gateway mode is one wiring of two seams: how control messages arrive (the faces, which every
 * mode has, plus optional interception of talk traffic crossing the firewall) and which data path
 * carries the conversation. Each mode is one small module (classical-mode.ts, transparent-mode.ts,
 * pinhole-mode.ts) registered in gateway-modes.ts; the session core knows nothing of modes beyond
 * what an ingress tells it (`Ingress.originalDestination`).
 */
import type { GatewayConfig } from '../../config/gateway-config.js';
import type { Clock } from '../../shared/clock.js';
import type { RelayLogger } from '../relay/relay-types.js';
import type { DataPath, DataPathEvents } from './data-path.js';
import type { PeerTlsLegSpec } from '../peering/peer-tls-leg.js';

/** tproxy interception of udp 517/518 crossing between the configured interfaces. */
export interface InterceptionPlan {
  readonly port: number;
  readonly table: string;
  /** Also outside → inside (inside addresses routable from outside); the pinhole mode NATs instead. */
  readonly inbound: boolean;
}

/** The logger shape data paths write to (pino-compatible). */
export interface DataPathLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface DataPathContext {
  readonly clock: Clock;
  readonly logger: DataPathLogger;
  /** The relay's per-call lines go through the deferred log (never between a call's messages). */
  readonly relayLogger: RelayLogger;
  readonly events: DataPathEvents;
  /**
   * Kernel holes opened by the privileged process (privilege separation): the worker's stand-in
   * for a local nftables data path. Absent when the gateway runs as one process.
   */
  readonly privilegedHoles?: DataPath;
  /** The TLS leg to a configured peer gateway (issue 15), for a relay carrying a peered call. */
  readonly peerTls?: (peerName: string) => PeerTlsLegSpec | undefined;
}

export interface ModeWiring<C extends GatewayConfig = GatewayConfig> {
  /** Interception the mode needs (installed by the privileged side), or undefined. */
  interception(config: C): InterceptionPlan | undefined;
  /** Whether the data path programs the local firewall (so it lives in the privileged process). */
  localFirewall(config: C): boolean;
  dataPath(config: C, ctx: DataPathContext): DataPath;
}
