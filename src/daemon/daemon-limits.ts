/**
 * Limits of `talkgate talkd` that are ours, not the protocol's (protocol timers live in
 * src/protocol/constants.ts). Each is named once with the reason for its value.
 */

/** Default bound of the invitation table. netkit's table is unbounded; 1024 pending calls is far above any real host. */
export const DEFAULT_MAX_INVITATIONS = 1024;
/** Default per-source request rate (requests per second, token bucket refill). A talk call sends < 1 request/s. */
export const DEFAULT_RATE_PER_SECOND = 20;
/** Token bucket depth: a client's burst (check_local, announce, leave_invite, retransmits). */
export const DEFAULT_RATE_BURST = 40;
/** Bound of the per-source rate-limiter table (oldest idle buckets are evicted first). */
export const MAX_RATE_SOURCES = 4096;
/** FCrDNS of a caller (reverse + forward) must finish within this, else the IP address is used. */
export const CALLER_DNS_TIMEOUT_MS = 2_000;
/** At most this many tty announcements in flight at once (each may take TTY_WRITE_TIMEOUT_MS). */
export const MAX_ANNOUNCES_IN_FLIGHT = 32;
/** Retry interval when a non-blocking tty write returns EAGAIN (the tty is stopped or slow). */
export const TTY_RETRY_INTERVAL_MS = 50;
/**
 * Default fair share of the invitation table per packet source address (issue 18). A talk call
 * holds one LEAVE_INVITE and one ANNOUNCE at most, so 16 lets one host address (a multi-user host,
 * a NAT) ring 8 people at once, while filling the default table takes 64 distinct sources.
 */
export const DEFAULT_MAX_INVITATIONS_PER_SOURCE = 16;
/** Refusals under pressure: one summary line per this window (the gateway's RATE_REFUSAL_SUMMARY_MS). */
export const PRESSURE_SUMMARY_INTERVAL_MS = 10_000;
/** Sources named in one summary line (sanitised), so the line stays short whatever the flood. */
export const PRESSURE_SAMPLED_SOURCES = 8;
/** Distinct sources counted per summary window; beyond it the count is a lower bound (bounded memory). */
export const PRESSURE_TRACKED_SOURCES = 1024;
