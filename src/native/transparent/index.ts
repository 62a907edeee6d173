/** The kernel-interception layer of transparent mode (one interface; see transparent-udp.ts). */
export {
  openTransparentUdp,
  sendFrom,
  type InterceptedDatagram,
  type TransparentUdpSocket,
} from './transparent-udp.js';
export { TransparentSocketError } from './transparent-error.js';
