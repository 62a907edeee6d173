/**
 * Test helpers for talking to a daemon over real loopback UDP: a bound client socket and one
 * request/reply exchange with a bounded wait.
 */
import { createSocket, type Socket } from 'node:dgram';

/** How long an exchange waits for the reply by default. */
export const REPLY_WAIT_MS = 2000;

/** A udp4 socket bound to `address` on a free port. */
export function udpClient(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((r) => s.bind(0, address, () => r(s)));
}

/** Sends `bytes` to 127.0.0.1:`port` and resolves to the next datagram (or undefined after `ms`). */
export function exchange(s: Socket, bytes: Uint8Array, port: number, ms = REPLY_WAIT_MS): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      s.off('message', on);
      resolve(undefined);
    }, ms);
    const on = (m: Buffer): void => {
      clearTimeout(t);
      s.off('message', on);
      resolve(m);
    };
    s.on('message', on);
    s.send(bytes, port, '127.0.0.1');
  });
}
