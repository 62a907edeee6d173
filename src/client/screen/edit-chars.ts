/**
 * The three edit characters each side sends at the start of the data phase (talk-protocol.md §4):
 * erase (VERASE), line-kill (VKILL), word-erase (VWERASE).
 */
export interface EditChars {
  readonly erase: number;
  readonly kill: number;
  readonly werase: number;
}

/** Defaults when the tty has a character disabled: DEL, ^U, ^W (as in the captures: `7f 15 17`). */
export const DEFAULT_EDIT_CHARS: EditChars = Object.freeze({ erase: 0x7f, kill: 0x15, werase: 0x17 });

/** Linux c_cc indices (asm-generic/termbits.h) in the `stty -g` colon list after 4 flag words. */
const STTY_FLAG_WORDS = 4;
const VERASE = 2;
const VKILL = 3;
const VWERASE = 14;
/** _POSIX_VDISABLE on Linux (0) and on BSD (0xff): the character is disabled. */
const DISABLED = new Set([0x00, 0xff]);

/**
 * Reads erase/kill/werase from `stty -g` output (`iflag:oflag:cflag:lflag:cc0:cc1:...`, hex).
 * A disabled or unreadable character falls back to the default.
 */
export function editCharsFromSttyG(output: string): EditChars {
  const fields = output.trim().split(':');
  const cc = (i: number, dflt: number): number => {
    const f = fields[STTY_FLAG_WORDS + i];
    if (f === undefined || !/^[0-9a-fA-F]{1,2}$/.test(f)) return dflt;
    const v = Number.parseInt(f, 16);
    return DISABLED.has(v) ? dflt : v;
  };
  return {
    erase: cc(VERASE, DEFAULT_EDIT_CHARS.erase),
    kill: cc(VKILL, DEFAULT_EDIT_CHARS.kill),
    werase: cc(VWERASE, DEFAULT_EDIT_CHARS.werase),
  };
}

/** The 3 bytes sent after connect/accept. */
export function encodeEditChars(e: EditChars): Uint8Array {
  return Uint8Array.of(e.erase, e.kill, e.werase);
}
