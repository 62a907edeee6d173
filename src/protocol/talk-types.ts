/**
 * The in-memory model of talk control messages, shared by the otalk and ntalk codecs.
 * Numbers are decoded as found on the wire (a request type of 9 is data: the daemon answers
 * UNKNOWN_REQUEST), so protocol outcomes stay values, never exceptions.
 */

/** Control request types (talkd.h). */
export const RequestType = {
  LEAVE_INVITE: 0,
  LOOK_UP: 1,
  DELETE: 2,
  ANNOUNCE: 3,
} as const;
export type RequestType = (typeof RequestType)[keyof typeof RequestType];

/** Answer codes (talkd.h); otalk defines 0–5 only. */
export const Answer = {
  SUCCESS: 0,
  NOT_HERE: 1,
  FAILED: 2,
  MACHINE_UNKNOWN: 3,
  PERMISSION_DENIED: 4,
  UNKNOWN_REQUEST: 5,
  BADVERSION: 6,
  BADADDR: 7,
  BADCTLADDR: 8,
} as const;
export type Answer = (typeof Answer)[keyof typeof Answer];

const requestTypeNames: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(RequestType).map(([k, v]) => [v, k])),
);
const answerNames: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(Answer).map(([k, v]) => [v, k])),
);

/** Name of a request type for logs, e.g. `LOOK_UP`, or `type#9` for an unknown one. */
export function requestTypeName(type: number): string {
  return requestTypeNames[type] ?? `type#${type}`;
}

/** Name of an answer code for logs, e.g. `NOT_HERE`, or `answer#42` for an unknown one. */
export function answerName(answer: number): string {
  return answerNames[answer] ?? `answer#${answer}`;
}

/** True when `type` is one of the four defined request types. */
export function isRequestType(type: number): type is RequestType {
  return type >= 0 && type <= 3 && Number.isInteger(type);
}

/**
 * An IPv4 socket address as carried in talk messages (osockaddr / sockaddr_in).
 * `family` is kept as decoded (2 = AF_INET) so that daemons can answer BADADDR/BADCTLADDR.
 */
export interface SockAddrIn {
  readonly family: number;
  readonly port: number;
  /** Dotted-quad IPv4 address. */
  readonly address: string;
}

/** CTL_MSG fields common to otalk and ntalk. Names are byte strings (one char per byte, latin1). */
export interface CtlMsg {
  readonly type: number;
  /** u32 */
  readonly id: number;
  /** The caller's TCP rendezvous address. */
  readonly addr: SockAddrIn;
  /** The sender's UDP address for replies. */
  readonly ctlAddr: SockAddrIn;
  /** i32, the caller's pid (a discriminator). */
  readonly pid: number;
  readonly lName: string;
  readonly rName: string;
  readonly rTty: string;
}

/** CTL_RESPONSE fields common to otalk and ntalk. */
export interface CtlResponse {
  readonly type: number;
  readonly answer: number;
  /** u32 */
  readonly id: number;
  /** Meaningful only in a successful LOOK_UP reply; otherwise often uninitialised daemon memory. */
  readonly addr: SockAddrIn;
}

/** ntalk v1 request: CTL_MSG plus the version byte (BADVERSION is decided by the daemon). */
export interface NtalkCtlMsg extends CtlMsg {
  readonly version: number;
}

/** ntalk v1 response. */
export interface NtalkCtlResponse extends CtlResponse {
  readonly version: number;
}

/** Byte order of otalk's native-order fields (id_num, pid, sin_family). */
export type ByteOrder = 'big' | 'little';

/** otalk request, with the sender's byte order detected from ctl_addr.sin_family. */
export interface OtalkCtlMsg extends CtlMsg {
  readonly byteOrder: ByteOrder;
}

/** otalk response; `layout` is `unpadded` for the 22-byte form (id_num at offset 2). */
export interface OtalkCtlResponse extends CtlResponse {
  readonly byteOrder: ByteOrder;
  readonly layout: 'padded' | 'unpadded';
}

/** The unspecified address (family 0, port 0, 0.0.0.0). */
export const NO_ADDR: SockAddrIn = Object.freeze({ family: 0, port: 0, address: '0.0.0.0' });
