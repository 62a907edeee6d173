/** The kernel-interception layer of transparent mode (one interface; see transparent-udp.ts). */
export {
  openTransparentUdp,
  openTransparentUdpFd,
  sendFrom,
  POLL_TIMEOUT_MS,
  MAX_DATAGRAMS_PER_WAKE,
  DEFAULT_MAX_DATAGRAM_BYTES,
  type Endpoint,
  type InterceptedDatagram,
  type SendRoute,
  type TransparentUdpOptions,
  type TransparentUdpSocket,
  type TransparentUdpStats,
} from './transparent-udp.js';
export { originalDst } from './original-dst.js';
export { TransparentSocketError, type TransparentErrorCode } from './transparent-error.js';
