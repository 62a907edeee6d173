/** DatagramEndpoint over a node:dgram socket that Node binds itself (standalone mode). */
import { createSocket, type Socket } from 'node:dgram';
import type { DatagramEndpoint, DatagramListener, DatagramPeer } from './datagram-endpoint.js';

export class NodeDatagramEndpoint implements DatagramEndpoint {
  readonly #socket: Socket;
  #errorListener: (err: Error) => void = () => undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('error', (err) => this.#errorListener(err));
  }

  /** Binds a udp4 socket on address:port (port 0 = ephemeral). */
  static async bind(address: string, port: number): Promise<NodeDatagramEndpoint> {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new NodeDatagramEndpoint(socket);
  }

  send(bytes: Uint8Array, port: number, address: string): void {
    this.#socket.send(bytes, port, address, (err) => {
      if (err) this.#errorListener(err);
    });
  }

  localAddress(): DatagramPeer {
    const a = this.#socket.address();
    return { address: a.address, port: a.port };
  }

  onMessage(listener: DatagramListener): void {
    this.#socket.on('message', (msg, rinfo) => listener(msg, { address: rinfo.address, port: rinfo.port }));
  }

  onError(listener: (err: Error) => void): void {
    this.#errorListener = listener;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
