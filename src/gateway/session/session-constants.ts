/** Timers and bounds of the gateway session core, each named once with its reason. */
import { MAX_LIFE_MS } from '../../protocol/constants.js';

/**
 * The gateway's resend interval for its own control requests to a daemon. Half of CTL_WAIT (2 s),
 * so that an ntalk probe and the otalk fallback both fit before the caller's client gives up on
 * one round and resends (its resends are absorbed while the gateway works).
 */
export const GATEWAY_CTL_WAIT_MS = 1_000;
/** Attempts per request before the call fails (alternating ntalk/otalk while the version is unknown). */
export const GATEWAY_CTL_TRIES = 4;
/** A pending name resolution fails after this long (MACHINE_UNKNOWN). */
export const RESOLVE_TIMEOUT_MS = 5_000;
/**
 * A call that is ringing or answered ends when neither party touched it (re-announce, LOOK_UP)
 * for MAX_LIFE, exactly as a daemon's invitation would expire (talkd.h MAX_LIFE).
 */
export const CALL_IDLE_EXPIRY_MS = MAX_LIFE_MS;
/**
 * Backstop deadline for an unused relay listener. The core closes it earlier when the call expires;
 * this only bounds a listener the core lost track of. Ten re-announce periods.
 */
export const DATA_PATH_ACCEPT_DEADLINE_MS = 10 * MAX_LIFE_MS;
/** Bound on queued gateway requests per daemon host (requests to one host are serialised). */
export const MAX_QUEUED_REQUESTS_PER_HOST = 64;
/** Bound on the per-host protocol version cache. */
export const VERSION_CACHE_SIZE = 1024;
/** How long a learned daemon version is trusted. */
export const VERSION_CACHE_TTL_MS = 3_600_000;
/**
 * New-call requests refused by the global rate limit are logged in aggregate: one line when the
 * refusals start, then one summary per this window while they go on (never one line per datagram).
 */
export const RATE_REFUSAL_SUMMARY_MS = 10_000;

/** Bound on per-source rate buckets the gateway tracks (a flood of forged sources cannot grow memory past this). */
export const MAX_RATE_SOURCES = 4096;
