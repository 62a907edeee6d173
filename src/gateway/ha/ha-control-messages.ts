/**
 * The HA control channel between `talkgate ha notify` (run by keepalived's notify script, as root)
 * and the gateway's privileged process: one JSON line each way over a unix socket of mode 0600 in a
 * root-only directory. Parsed with exact schemas; nothing else is accepted.
 */
import { z } from 'zod';
import { HA_STATES } from './ha-role.js';

/** Longest request line (both requests are a few dozen bytes). */
export const HA_CONTROL_MAX_LINE = 256;
/** A control connection that says nothing for this long is closed (ms). */
export const HA_CONTROL_TIMEOUT_MS = 5_000;

export const haControlRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('notify'), state: z.enum(HA_STATES) }),
  z.strictObject({ op: z.literal('status') }),
]);
export type HaControlRequest = z.infer<typeof haControlRequestSchema>;

export type HaControlReply =
  | { readonly ok: true; readonly role: 'master' | 'backup'; readonly state: string; readonly holesRemoved: number; readonly holes: number }
  | { readonly ok: false; readonly error: string };
