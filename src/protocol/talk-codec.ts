/**
 * One interface over the two talk wire formats, so daemons, clients and the gateway can be
 * written (and tested) once for both: {@link ntalkCodec} (udp/518) and {@link otalkCodec}
 * (udp/517, one codec per expected byte order).
 */
import {
  NTALK_CTL_MSG_SIZE,
  NTALK_CTL_RESPONSE_SIZE,
  NTALK_PORT,
  OTALK_CTL_MSG_SIZE,
  OTALK_CTL_RESPONSE_SIZE,
  OTALK_CTL_RESPONSE_UNPADDED_SIZE,
  OTALK_NAME_SIZE,
  OTALK_PORT,
  NTALK_NAME_SIZE,
} from './constants.js';
import { DecodeError } from './decode-error.js';
import { decodeNtalkCtlMsg, encodeNtalkCtlMsg } from './ntalk/ctl-msg.js';
import { decodeNtalkCtlResponse, encodeNtalkCtlResponse } from './ntalk/ctl-response.js';
import { decodeOtalkCtlMsg, encodeOtalkCtlMsg } from './otalk/ctl-msg.js';
import { decodeOtalkCtlResponse, encodeOtalkCtlResponse } from './otalk/ctl-response.js';
import type {
  ByteOrder,
  CtlMsg,
  CtlResponse,
  NtalkCtlMsg,
  NtalkCtlResponse,
  OtalkCtlMsg,
  OtalkCtlResponse,
} from './talk-types.js';

/** Encoder/decoder pair for one talk protocol. Decoders throw only DecodeError. */
export interface TalkCodec<Req extends CtlMsg = CtlMsg, Res extends CtlResponse = CtlResponse> {
  readonly name: 'ntalk' | 'otalk';
  /** The daemon's well-known UDP port. */
  readonly port: number;
  /** CTL_MSG size in bytes. */
  readonly requestSize: number;
  /** CTL_RESPONSE size this codec encodes by default. */
  readonly responseSize: number;
  /** Every CTL_RESPONSE size `decodeResponse` accepts. */
  readonly responseSizes: readonly number[];
  /** NAME_SIZE of l_name/r_name (the field width; at most NAME_SIZE - 1 characters). */
  readonly nameSize: number;
  decodeRequest(bytes: Uint8Array): Req;
  encodeRequest(m: Req): Uint8Array;
  decodeResponse(bytes: Uint8Array): Res;
  encodeResponse(r: Res): Uint8Array;
}

/** ntalk v1 (4.3BSD and later, udp/518). */
export const ntalkCodec: TalkCodec<NtalkCtlMsg, NtalkCtlResponse> = Object.freeze({
  name: 'ntalk',
  port: NTALK_PORT,
  requestSize: NTALK_CTL_MSG_SIZE,
  responseSize: NTALK_CTL_RESPONSE_SIZE,
  responseSizes: Object.freeze([NTALK_CTL_RESPONSE_SIZE]),
  nameSize: NTALK_NAME_SIZE,
  decodeRequest: decodeNtalkCtlMsg,
  encodeRequest: encodeNtalkCtlMsg,
  decodeResponse: decodeNtalkCtlResponse,
  encodeResponse: encodeNtalkCtlResponse,
});

const otalkCodecs: Record<ByteOrder, TalkCodec<OtalkCtlMsg, OtalkCtlResponse>> = {
  big: makeOtalkCodec('big'),
  little: makeOtalkCodec('little'),
};

function makeOtalkCodec(byteOrder: ByteOrder): TalkCodec<OtalkCtlMsg, OtalkCtlResponse> {
  return Object.freeze({
    name: 'otalk',
    port: OTALK_PORT,
    requestSize: OTALK_CTL_MSG_SIZE,
    responseSize: OTALK_CTL_RESPONSE_SIZE,
    responseSizes: Object.freeze([OTALK_CTL_RESPONSE_SIZE, OTALK_CTL_RESPONSE_UNPADDED_SIZE]),
    nameSize: OTALK_NAME_SIZE,
    decodeRequest: decodeOtalkCtlMsg,
    encodeRequest: encodeOtalkCtlMsg,
    decodeResponse: (bytes: Uint8Array) => decodeOtalkCtlResponse(bytes, byteOrder),
    encodeResponse: encodeOtalkCtlResponse,
  });
}

/**
 * otalk (4.2BSD, udp/517). Requests detect their byte order; responses are decoded in
 * `byteOrder` (the order the daemon is expected to answer in). Encoding honours the
 * message's own `byteOrder`/`layout`.
 */
export function otalkCodec(byteOrder: ByteOrder): TalkCodec<OtalkCtlMsg, OtalkCtlResponse> {
  return otalkCodecs[byteOrder];
}

/** A request decoded by {@link decodeAnyCtlMsg}. */
export type AnyCtlMsg = { protocol: 'ntalk'; msg: NtalkCtlMsg } | { protocol: 'otalk'; msg: OtalkCtlMsg };

/** Decodes a request of either protocol, chosen by length (84 ntalk, 76 otalk). */
export function decodeAnyCtlMsg(bytes: Uint8Array): AnyCtlMsg {
  if (bytes.length === NTALK_CTL_MSG_SIZE) return { protocol: 'ntalk', msg: decodeNtalkCtlMsg(bytes) };
  if (bytes.length === OTALK_CTL_MSG_SIZE) return { protocol: 'otalk', msg: decodeOtalkCtlMsg(bytes) };
  throw new DecodeError(
    'length',
    0,
    `a CTL_MSG must be ${NTALK_CTL_MSG_SIZE} (ntalk) or ${OTALK_CTL_MSG_SIZE} (otalk) bytes, got ${bytes.length}`,
  );
}
