/** mode = "classical" (RFC 1919 §3): users address the gateway's faces; the TCP relay carries the talk. */
import type { GatewayConfig } from '../../config/gateway-config.js';
import { RelayDataPath } from '../relay/relay-data-path.js';
import type { DataPathContext, ModeWiring } from './mode-wiring.js';

/** The relay data path every relaying mode shares. */
export function relayDataPath(config: GatewayConfig, ctx: DataPathContext): RelayDataPath {
  return new RelayDataPath({
    portRange: config.relay.ports,
    maxRelays: config.limits.maxCalls,
    idleTimeoutMs: config.relay.idleTimeoutMs,
    maxDurationMs: config.relay.maxDurationMs,
    sanitize: config.relay.sanitize,
    logger: ctx.relayLogger,
    events: ctx.events,
    ...(ctx.peerTls !== undefined ? { peerTls: ctx.peerTls } : {}),
  });
}

export const classicalMode: ModeWiring = {
  interception: () => undefined,
  localFirewall: () => false,
  dataPath: relayDataPath,
};
