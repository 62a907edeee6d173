/**
 * mode = "transparent" (RFC 1919 §4): talk control traffic crossing the firewall is intercepted
 * (tproxy, both directions) and rewritten; the TCP relay carries the talk.
 */
import type { TransparentConfig } from '../../config/gateway-config.js';
import { relayDataPath } from './classical-mode.js';
import type { ModeWiring } from './mode-wiring.js';

export const transparentMode: ModeWiring<TransparentConfig> = {
  interception: (c) => ({ port: c.transparent.port, table: c.transparent.table, inbound: true }),
  localFirewall: () => false,
  dataPath: relayDataPath,
};
