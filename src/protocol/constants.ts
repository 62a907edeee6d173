/**
 * Wire sizes, ports and timers of the BSD talk protocols, each named once with its source.
 * Sources: 4.3BSD/OpenBSD `include/protocols/talkd.h` (ntalk), 4.2BSD/SunOS `ucb/talk/ctl.h`
 * (otalk), netkit-ntalk 0.17; summarised in shared/reference/talk-protocol.md §0–§3.
 */

/** udp/518 `ntalk` (/etc/services). */
export const NTALK_PORT = 518;
/** udp/517 `talk`, the 4.2BSD protocol (/etc/services). */
export const OTALK_PORT = 517;

/** talkd.h TALK_VERSION: the only ntalk protocol version. */
export const TALK_VERSION = 1;

/** ntalk CTL_MSG: 4 + 4 + 16 + 16 + 4 + 12 + 12 + 16 (talkd.h). */
export const NTALK_CTL_MSG_SIZE = 84;
/** ntalk CTL_RESPONSE: 4 + 4 + 16 (talkd.h). */
export const NTALK_CTL_RESPONSE_SIZE = 24;
/** talkd.h NAME_SIZE (ntalk). */
export const NTALK_NAME_SIZE = 12;
/** talkd.h TTY_SIZE (both versions). */
export const TTY_SIZE = 16;

/** otalk CTL_MSG with 4-byte int alignment (4.2BSD ctl.h). */
export const OTALK_CTL_MSG_SIZE = 76;
/** otalk CTL_RESPONSE with 4-byte int alignment. */
export const OTALK_CTL_RESPONSE_SIZE = 24;
/** otalk CTL_RESPONSE from daemons built without int alignment (id_num at offset 2). */
export const OTALK_CTL_RESPONSE_UNPADDED_SIZE = 22;
/** 4.2BSD ctl.h NAME_SIZE (otalk). */
export const OTALK_NAME_SIZE = 9;

/** struct osockaddr / sockaddr_in: family(2) port(2) addr(4) zero(8). */
export const SOCKADDR_SIZE = 16;
/** AF_INET, the only family talk carries. */
export const AF_INET = 2;

/** talkd.h MAX_LIFE: an invitation lives this long after it was last touched (ms). */
export const MAX_LIFE_MS = 60_000;
/** talkd.h RING_WAIT: the caller re-announces at this interval (ms). */
export const RING_WAIT_MS = 30_000;
/** talk ctl_transact.c CTL_WAIT: resend interval for an unanswered control request (ms). */
export const CTL_WAIT_MS = 2_000;
/** talkd.c TIMEOUT: how often an inetd-started daemon checks for idleness (ms). */
export const IDLE_CHECK_MS = 30_000;
/** talkd.c MAXIDLE: an inetd-started daemon exits after this long without packets (ms). */
export const MAX_IDLE_MS = 120_000;
/** netkit/BSD table.c new_id(): ids run (n + 1) mod MAX_ID, skipping 0. */
export const MAX_ID = 16_000;
/** The "impossible id" a client sends in a first ANNOUNCE/LEAVE_INVITE (invite.c). */
export const IMPOSSIBLE_ID = 0xffff_ffff;
/** Number of edit characters exchanged at the start of the TCP data phase (erase, kill, werase). */
export const EDIT_CHARS_SIZE = 3;
/** FreeBSD/inetutils ttymsg(): a tty write that takes longer fails (RING_WAIT - 5 s). */
export const TTY_WRITE_TIMEOUT_MS = 25_000;
