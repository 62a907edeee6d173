/**
 * mode = "pinhole" (MIDCOM, a talk-aware NAT): the conversation flows in the kernel through one
 * narrow, timed nftables hole per call, opened by the privileged process (or, with [middlebox], by a
 * remote PCP middlebox). Inside users' requests to outside daemons are intercepted when
 * `[pinhole] intercept` is on and the holes are local (with a remote middlebox this host is not on
 * the path); outside callers address the gateway's outside face.
 */
import type { PinholeModeConfig } from '../../config/gateway-config.js';
import { createPcpDataPath } from '../pinhole/pcp-data-path.js';
import { createPinholeDataPath } from '../pinhole/pinhole-from-config.js';
import type { ModeWiring } from './mode-wiring.js';

export const pinholeMode: ModeWiring<PinholeModeConfig> = {
  interception: (c) =>
    c.pinhole.intercept && c.middlebox === undefined ? { port: c.transparent.port, table: c.transparent.table, inbound: false } : undefined,
  localFirewall: (c) => c.middlebox === undefined,
  dataPath: (c, ctx) => {
    if (c.middlebox !== undefined) {
      return createPcpDataPath({
        server: c.middlebox.pcp,
        port: c.middlebox.port,
        localAddress: c.inside.address,
        maxHoles: c.limits.maxCalls,
        logger: ctx.logger,
        events: ctx.events,
      });
    }
    return ctx.privilegedHoles ?? createPinholeDataPath({ config: c, clock: ctx.clock, logger: ctx.logger, events: ctx.events });
  },
};
