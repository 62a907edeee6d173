/**
 * UDP control sockets of the client, one per channel, each `connect()`ed to its daemon as netkit
 * does: the kernel then filters replies to that source, and `getsockname()` yields the interface
 * address the daemon sees (our ctl_addr, and the IP our TCP listener advertises).
 * - local: bound to 127.0.0.1, to our own daemon (netkit talkd takes LEAVE_INVITE from local only);
 * - remote: to the callee's daemon, ntalk port; remote-otalk: same host, otalk port.
 * Replies are decoded here; a malformed datagram is counted and dropped, never thrown.
 */
import { createSocket, type Socket } from 'node:dgram';
import { decodeNtalkCtlResponse, decodeOtalkCtlResponse, encodeNtalkCtlMsg, encodeOtalkCtlMsg } from '../../protocol/index.js';

import { RequestType, type CtlMsg, type CtlResponse } from '../../protocol/talk-types.js';
import type { Channel, Endpoint, Protocol } from '../call-machine.js';

export type ControlEvent =
  | { kind: 'reply'; channel: Channel; from: Endpoint; response: CtlResponse & { version?: number } }
  | { kind: 'unreachable'; channel: Channel };

/** Swapped AF_INET (2) as read big-endian: the reply came from a little-endian otalk daemon. */
const AF_INET_SWAPPED = 0x0200;

export class ControlChannels {
  readonly #sockets = new Map<Channel, Socket>();
  readonly #local = new Map<Channel, Endpoint>();
  dropped = 0;

  private constructor() {}

  /** Opens and connects the sockets; `otalkPort` null skips the otalk one. */
  static async open(
    localDaemon: Endpoint,
    remoteDaemon: Endpoint,
    otalkPort: number | null,
    onEvent: (ev: ControlEvent) => void,
  ): Promise<ControlChannels> {
    const c = new ControlChannels();
    const plan: [Channel, Endpoint, string | undefined][] = [
      ['local', localDaemon, '127.0.0.1'],
      ['remote', remoteDaemon, undefined],
    ];
    if (otalkPort !== null) plan.push(['remote-otalk', { address: remoteDaemon.address, port: otalkPort }, undefined]);
    try {
      for (const [channel, to, bindAddr] of plan) {
        const s = createSocket('udp4');
        c.#sockets.set(channel, s);
        s.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNREFUSED') onEvent({ kind: 'unreachable', channel });
        });
        s.on('message', (msg, rinfo) => {
          const ev = c.#decode(channel, msg);
          if (ev === null) return;
          onEvent({ kind: 'reply', channel, from: { address: rinfo.address, port: rinfo.port }, response: ev });
        });
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind({ port: 0, ...(bindAddr !== undefined ? { address: bindAddr } : {}) }, () => {
            s.connect(to.port, to.address, () => {
              s.off('error', reject);
              resolve();
            });
          });
        });
        const a = s.address();
        c.#local.set(channel, { address: a.address, port: a.port });
      }
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  /** Our address as seen on each channel. Channels not opened report the remote one. */
  ctlAddrs(): Record<Channel, Endpoint> {
    const remote = this.#local.get('remote') ?? { address: '0.0.0.0', port: 0 };
    return {
      local: this.#local.get('local') ?? remote,
      remote,
      'remote-otalk': this.#local.get('remote-otalk') ?? remote,
    };
  }

  send(channel: Channel, protocol: Protocol, msg: CtlMsg, version: number): void {
    const s = this.#sockets.get(channel);
    if (s === undefined) return;
    const bytes = protocol === 'ntalk' ? encodeNtalkCtlMsg({ ...msg, version }) : encodeOtalkCtlMsg({ ...msg, byteOrder: 'big' });
    s.send(bytes, (err) => {
      if (err !== null && err !== undefined && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        s.emit('error', err);
      }
    });
  }

  #decode(channel: Channel, msg: Buffer): (CtlResponse & { version?: number }) | null {
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    try {
      if (channel !== 'remote-otalk') return decodeNtalkCtlResponse(bytes);
      // We send otalk in big-endian ("Sun order", like ytalk); a little-endian 4.2BSD daemon
      // answers in its own order, which shows as a swapped family in a LOOK_UP reply.
      const r = decodeOtalkCtlResponse(bytes, 'big');
      if (r.type === RequestType.LOOK_UP && r.addr.family === AF_INET_SWAPPED) {
        return decodeOtalkCtlResponse(bytes, 'little');
      }
      return r;
    } catch {
      this.dropped++;
      return null;
    }
  }

  close(): void {
    for (const s of this.#sockets.values()) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.#sockets.clear();
  }
}
