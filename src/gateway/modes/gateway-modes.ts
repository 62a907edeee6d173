/** The registry of gateway modes: one line per mode (a new mode is one wiring module and one line here). */
import type { GatewayConfig, GatewayMode } from '../../config/gateway-config.js';
import { classicalMode } from './classical-mode.js';
import type { ModeWiring } from './mode-wiring.js';
import { pinholeMode } from './pinhole-mode.js';
import { transparentMode } from './transparent-mode.js';

const MODES: { readonly [M in GatewayMode]: ModeWiring<Extract<GatewayConfig, { mode: M }>> } = {
  classical: classicalMode,
  transparent: transparentMode,
  pinhole: pinholeMode,
};

/** The wiring of the configuration's mode, typed for any variant. */
export function modeWiring(config: GatewayConfig): ModeWiring {
  return MODES[config.mode];
}
