/**
 * Limits of the talk client, each named once with its reason. Protocol timers (CTL_WAIT_MS,
 * RING_WAIT_MS) come from src/protocol/constants.ts.
 */
import { CTL_WAIT_MS } from '../protocol/constants.js';

/**
 * Sends of one control request before giving up: 5 × CTL_WAIT (2 s) = 10 s. The classic client
 * blocks forever on a lost reply (captures/README.md, 06); we report failure instead.
 */
export const CTL_MAX_TRIES = 5;
/** The resulting bound on one control transaction. */
export const CTL_GIVE_UP_MS = CTL_MAX_TRIES * CTL_WAIT_MS;
/**
 * From the 2nd send of the first request to the callee's daemon on, the same request also goes
 * to its otalk port (517), in case it only speaks the 4.2BSD protocol (as ytalk probes both).
 */
export const OTALK_PROBE_FROM_TRY = 2;
/** TCP connect to the caller's rendezvous address: give up after this long (ms). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** An incomplete UTF-8 sequence from the peer is shown as Latin-1 after this quiet time (ms). */
export const UTF8_FLUSH_MS = 300;
/** At most one terminal bell per this interval, however many BELs the peer sends (ms). */
export const BELL_MIN_INTERVAL_MS = 1_000;
