/**
 * One small interface over a UDP socket, so the daemon (and later the gateway) is written once
 * for a socket Node opened itself (NodeDatagramEndpoint) and a socket inherited from inetd or
 * systemd as a file descriptor (FdDatagramEndpoint, through libc). The gateway's transparent
 * mode will add the original destination to `RemoteInfo` (IP_RECVORIGDSTADDR) and a `sendFrom`
 * with a non-local source (IP_TRANSPARENT) in FdDatagramEndpoint.
 */

export interface DatagramPeer {
  readonly address: string;
  readonly port: number;
}

export type DatagramListener = (bytes: Uint8Array, peer: DatagramPeer) => void;

export interface DatagramEndpoint {
  /** Sends one datagram; errors are reported to the `onError` listener, never thrown asynchronously. */
  send(bytes: Uint8Array, port: number, address: string): void;
  /** The bound local address. */
  localAddress(): DatagramPeer;
  /** Registers the datagram listener (one per endpoint). */
  onMessage(listener: DatagramListener): void;
  /** Registers a listener for socket errors (receive or send). */
  onError(listener: (err: Error) => void): void;
  /** Stops receiving and closes the socket; resolves once closed. */
  close(): Promise<void>;
}
