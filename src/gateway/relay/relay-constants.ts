/**
 * Limits and timers of the TCP relay (issue 4). These are talkgate's own choices, not wire values.
 */

/** Backlog of a per-call relay listener: it accepts exactly one connection, the rest is refused. */
export const RELAY_LISTEN_BACKLOG = 8;
/**
 * Longest wait for the onward TCP connect. A talk client gives up on a silent peer much earlier in
 * practice; the idle timeout (if shorter) bounds it too.
 */
export const RELAY_CONNECT_TIMEOUT_MS = 10_000;
/** Bytes at the start of each direction that pass untouched (talk-protocol.md §4.1, EDIT_CHARS_SIZE). */
export { EDIT_CHARS_SIZE as RELAY_EDIT_CHARS_SIZE } from '../../protocol/constants.js';
/** After one side closed, how long the other may take to drain and close before it is destroyed. */
export const RELAY_CLOSE_GRACE_MS = 2_000;

/**
 * Bytes of a read transformed (sanitised) in one piece; between pieces the relay checks its turn's
 * time budget (issue 18). A piece that needed rewriting is followed by one of the minimum size (at
 * the sanitiser's slowest, about 30 ns per escape-heavy byte, 0.12 ms; more while the JIT warms
 * up); pieces that pass untouched (about 0.2 ns per byte) double up to one whole read (libuv reads
 * at most 64 KiB). Talkgate's own choices.
 */
export const RELAY_SLICE_MIN_BYTES = 4 * 1024;
export const RELAY_SLICE_MAX_BYTES = 64 * 1024;

/**
 * Time one direction of one call may spend relaying in one event-loop turn before the rest of its
 * read waits for the next turn (issue 18: relaying never delays control processing; target: LOOK_UP
 * and /healthz p99 under 10 ms while a stream is relayed). Talkgate's own choice: at 1 ms the control
 * p50 under 20 MB of escape-heavy relay was 2-3 ms, at 0.25 ms 0.8-1.1 ms, with the sanitising
 * relay still at socat's CPU per MiB on talk-like text (test/relay-control-latency.test.ts,
 * bench/relay-throughput.ts).
 */
export const RELAY_TURN_BUDGET_MS = 0.25;

/**
 * How often the relay thread reports the bytes each call moved to the control thread (live counts
 * on the admin page and in metrics; a call's final counts come with its end). Talkgate's own choice:
 * one message per active call a tenth of a second, whatever the rate.
 */
export const RELAY_BYTES_REPORT_MS = 100;
/** Longest wait for the relay thread to start, or to close every relay at stop. Talkgate's own choice. */
export const RELAY_THREAD_WAIT_MS = 5_000;
/**
 * Nice value of the relay thread (a thread's own on Linux): bulk bytes yield the CPU to the control
 * thread, whose work is small and latency-bound (issue 18). Talkgate's own choice.
 */
export const RELAY_THREAD_NICE = 10;
