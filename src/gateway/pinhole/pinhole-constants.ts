/** Timers and bounds of the pinhole data path, each named once with its reason. */

/**
 * How often the call flows (conntrack entries carrying our marks) are listed while a hole is
 * ringing, to notice the flow that took it (then the rest of the hole is removed at once) and the
 * hole's expiry (the kernel expires every element of a hole at its timeout by itself; this bounds
 * how soon the call ends). Acceptance: an expired hole is gone within 1 s.
 */
export const HOLE_POLL_MS = 200;
/** How often the connected calls' flows are listed (when nothing rings) to notice a call's end. */
export const FLOW_POLL_MS = 1_000;
/**
 * Bound on the holes committed together in one nft transaction when opens/closes queue up
 * (group commit). A failed group is retried call by call, so one call's clash refuses only it.
 */
export const MAX_GROUP_COMMIT = 64;
/** External ports tried when a create fails with EEXIST (a port clash) before the call is refused. */
export const OPEN_TRIES = 3;
/** Bits of the conntrack mark taken by the per-call sequence number (call ids go to 999,999 < 2^20). */
export const MARK_SEQ_BITS = 20;
/** Bits of the per-process epoch in the mark (so a restarted process never reuses a live mark). */
export const MARK_EPOCH_BITS = 12;
