/** The kernel-interception layer of transparent mode (one interface; see transparent-udp.ts). */
export {
  openTransparentUdp,
  openTransparentUdpFd,
  sendFrom,
  type InterceptedDatagram,
  type SendRoute,
  type TransparentUdpSocket,
} from './transparent-udp.js';
export { TransparentSocketError } from './transparent-error.js';
