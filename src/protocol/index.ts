/** The public protocol API: types, constants, errors, wire helpers and both codecs. */
export * from './constants.js';
export * from './talk-types.js';
export { DecodeError, EncodeError } from './decode-error.js';
export * from './wire.js';
export { decodeSockAddr, encodeSockAddr, formatSockAddr, sockAddr } from './osockaddr.js';
export { decodeNtalkCtlMsg, encodeNtalkCtlMsg, NtalkCtlMsgOffset } from './ntalk/ctl-msg.js';
export { decodeNtalkCtlResponse, encodeNtalkCtlResponse, NtalkCtlResponseOffset } from './ntalk/ctl-response.js';
export { decodeOtalkCtlMsg, detectOtalkByteOrder, encodeOtalkCtlMsg, OtalkCtlMsgOffset } from './otalk/ctl-msg.js';
export {
  decodeOtalkCtlResponse,
  encodeOtalkCtlResponse,
  OtalkCtlResponseOffset,
  otalkCtlResponseSize,
} from './otalk/ctl-response.js';
export { decodeAnyCtlMsg, ntalkCodec, otalkCodec, type AnyCtlMsg, type TalkCodec } from './talk-codec.js';
