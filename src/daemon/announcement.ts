/**
 * The text talkd writes to the callee's tty, byte for byte as netkit-ntalk 0.17 announce.c
 * print_mesg(): BEL CR LF, then five lines each space-padded to (longest + 2) and ended by CR LF.
 * Every name passes sanitizeText() first, so no escape or control byte (the 1994 "flash" attack)
 * can reach a terminal.
 */
import { sanitizeText } from '../shared/sanitize.js';

export interface AnnouncementInput {
  /** The daemon's host name (gethostname()). */
  readonly daemonHost: string;
  /** The caller's login (request l_name), untrusted. */
  readonly callerName: string;
  /** The caller's host: FCrDNS name of the packet source, else its IP address. */
  readonly callerHost: string;
  /** Local time of the announcement. */
  readonly hour: number;
  readonly minute: number;
}

const BEL = '\x07';
const CRLF = '\r\n';

/** The five announcement lines (before padding), names sanitised. */
export function announcementLines(input: AnnouncementInput): string[] {
  const host = sanitizeText(input.daemonHost);
  const user = sanitizeText(input.callerName);
  const from = sanitizeText(input.callerHost);
  const minute = String(input.minute).padStart(2, '0');
  return [
    ' ',
    `Message from Talk_Daemon@${host} at ${input.hour}:${minute} ...`,
    `talk: connection requested by ${user}@${from}.`,
    `talk: respond with:  talk ${user}@${from}`,
    ' ',
  ];
}

/** The whole block written to the tty in one write, as bytes (printable ASCII plus BEL, CR, LF). */
export function renderAnnouncement(input: AnnouncementInput): Uint8Array {
  const lines = announcementLines(input);
  const width = Math.max(...lines.map((l) => l.length)) + 2;
  let text = BEL + CRLF;
  for (const line of lines) text += line.padEnd(width, ' ') + CRLF;
  return new TextEncoder().encode(text);
}
