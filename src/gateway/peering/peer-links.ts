/**
 * The TLS links between this gateway and its configured peer gateways (issue 15), an adapter of
 * the worker (every byte a peer sends is parsed here, unprivileged). Each gateway listens on
 * `[peering] port` of its outside address and connects to a peer on its first request for it:
 * its own connection carries its requests and the peer's answers, the peer's connection the
 * reverse. Both ends authenticate: TLS checks the chain to the configured CA on both sides
 * (`requestCert`, `rejectUnauthorized`), {@link checkPeerCertificate} the address, the name and a
 * pinned fingerprint. Nothing a peer sends is read before that. Bounded: links, queued requests,
 * frame size, handshake and idle time.
 */
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { PeerGateway, PeeringConfig } from '../../config/gateway-config.js';
import { sanitizeText } from '../../shared/sanitize.js';
import type { DataPathLogger } from '../modes/mode-wiring.js';
import type { PeerRefusal } from './peer-identity.js';
import { caCertificates, verifyPeerSocket, type PeerTlsLegSpec, type PeerTlsMaterial } from './peer-tls-leg.js';

export type { PeerTlsMaterial } from './peer-tls-leg.js';
import { decodePeerFrame, encodePeerFrame, PeerFrameSplitter, type PeerFrame } from './peer-frame.js';

/** A TLS handshake (connect or accept) must finish within this (ms): a silent peer holds nothing long. */
export const PEER_HANDSHAKE_TIMEOUT_MS = 5_000;
/** An unused link is closed after this (ms); the next request opens a new one. */
const PEER_LINK_IDLE_MS = 10 * 60_000;
/** Requests queued for a peer while its link is being opened (the session core sends one per host at a time). */
const MAX_QUEUED_PER_PEER = 16;
/** Links accepted from peers at once (each peer needs one; a few spare for reconnects). */
const MAX_INBOUND_LINKS_PER_PEER = 4;

/** Why a request to a peer could not be carried: an authentication refusal or the peer being unreachable. */
export type PeerFailure = PeerRefusal | 'peer-unreachable';

export interface PeerLinksOptions {
  readonly peering: PeeringConfig;
  /** The gateway's outside address: the links listen and connect from it. */
  readonly localAddress: string;
  readonly tls: PeerTlsMaterial;
  readonly logger: DataPathLogger;
  /** A request of the peer's call arrived on link `linkId` (answer with {@link PeerLinks.reply}). */
  onRequest(peer: PeerGateway, linkId: string, remotePort: number, frame: Extract<PeerFrame, { t: 'req' }>): void;
  /** The peer answered our last request on our link. */
  onResponse(peer: PeerGateway, frame: Extract<PeerFrame, { t: 'res' }>): void;
  /** Our request of call `callId` cannot reach the peer. */
  onFailed(peer: PeerGateway, callId: string, failure: PeerFailure, detail: string): void;
  /** A link was refused (authentication) or dropped a malformed frame: for metrics. */
  onRefused?(code: PeerRefusal | 'peer-frame', from: string): void;
}

interface OutLink {
  readonly socket: tls.TLSSocket;
  secure: boolean;
  readonly queue: Array<{ callId: string; line: string }>;
  /** Calls with a request sent and not yet answered (failed if the link dies). */
  readonly awaiting: Set<string>;
}

export class PeerLinks {
  readonly #o: PeerLinksOptions;
  readonly #context: tls.SecureContext;
  readonly #byAddress = new Map<string, PeerGateway>();
  readonly #byName = new Map<string, PeerGateway>();
  readonly #out = new Map<string, OutLink>();
  readonly #in = new Map<string, { peer: PeerGateway; socket: tls.TLSSocket }>();
  readonly #server: tls.Server;
  /** The configured CA certificates, for the relay's server leg (see {@link PeerLinks.tlsLeg}). */
  readonly #caCerts: X509Certificate[];
  #nextLink = 0;

  private constructor(o: PeerLinksOptions) {
    this.#o = o;
    this.#context = tls.createSecureContext({ cert: o.tls.cert, key: o.tls.key, ca: o.tls.ca, minVersion: 'TLSv1.3' });
    this.#caCerts = caCertificates(o.tls.ca);
    for (const p of o.peering.peers) {
      this.#byAddress.set(p.address, p);
      this.#byName.set(p.name, p);
    }
    this.#server = tls.createServer({
      // A server builds its context from these (a `secureContext` option is not used for its certificate).
      cert: o.tls.cert,
      key: o.tls.key,
      ca: o.tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: PEER_HANDSHAKE_TIMEOUT_MS,
      minVersion: 'TLSv1.3',
    });
    this.#server.maxConnections = Math.max(1, o.peering.peers.length) * MAX_INBOUND_LINKS_PER_PEER;
    this.#server.on('secureConnection', (s) => this.#onInbound(s));
    // A refused handshake may end with the socket already closed: its address is kept from the accept.
    const accepted = new WeakMap<object, string>();
    this.#server.on('connection', (raw: net.Socket) => accepted.set(raw, `${plain(raw.remoteAddress)}:${raw.remotePort ?? 0}`));
    this.#server.on('tlsClientError', (err, s) => {
      const parent = (s as unknown as { _parent?: object })._parent;
      const from = accepted.get(s) ?? (parent !== undefined ? accepted.get(parent) : undefined) ?? `${plain(s.remoteAddress)}:${s.remotePort ?? 0}`;
      this.#o.logger.warn({ code: 'peer-unauthenticated', from, err: sanitizeText(errText(err)) }, 'peer link refused');
      this.#o.onRefused?.('peer-unauthenticated', from);
    });
    this.#server.on('error', (err) => this.#o.logger.warn({ err: sanitizeText(errText(err)) }, 'peer link listener error'));
  }

  /** Listens on the outside address, `[peering] port`. */
  static async start(o: PeerLinksOptions): Promise<PeerLinks> {
    const links = new PeerLinks(o);
    await new Promise<void>((resolve, reject) => {
      links.#server.once('error', reject);
      links.#server.listen({ host: o.localAddress, port: o.peering.port, exclusive: true }, () => {
        links.#server.off('error', reject);
        resolve();
      });
    });
    return links;
  }

  peerByAddress(address: string): PeerGateway | undefined {
    return this.#byAddress.get(address);
  }

  /** What the relay (on its own thread) builds the TLS leg of a call to/from `peerName` from. */
  tlsLeg(peerName: string): PeerTlsLegSpec | undefined {
    const peer = this.#byName.get(peerName);
    if (peer === undefined) return undefined;
    return { material: this.#o.tls, peer };
  }

  /** Sends a request of our call `callId` to `peer`, opening our link to it first if needed. */
  request(peer: PeerGateway, callId: string, protocol: 'ntalk' | 'otalk', msg: Uint8Array): void {
    const line = encodePeerFrame({ t: 'req', protocol, callId, msg });
    const link = this.#out.get(peer.name) ?? this.#connect(peer);
    if (link.secure) {
      link.awaiting.add(callId);
      link.socket.write(line);
      return;
    }
    if (link.queue.length >= MAX_QUEUED_PER_PEER) {
      this.#o.onFailed(peer, callId, 'peer-unreachable', 'too many requests queued for the peer link');
      return;
    }
    link.queue.push({ callId, line });
  }

  /** Answers a request that arrived on `linkId`; false when that link is gone. */
  reply(linkId: string, protocol: 'ntalk' | 'otalk', callId: string | undefined, msg: Uint8Array): boolean {
    const link = this.#in.get(linkId);
    if (link === undefined) return false;
    link.socket.write(encodePeerFrame({ t: 'res', protocol, ...(callId !== undefined ? { callId } : {}), msg }));
    return true;
  }

  /** The listening address (tests). */
  address(): net.AddressInfo {
    return this.#server.address() as net.AddressInfo;
  }

  async close(): Promise<void> {
    for (const l of this.#out.values()) l.socket.destroy();
    for (const l of this.#in.values()) l.socket.destroy();
    this.#out.clear();
    this.#in.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #verify(peer: PeerGateway, s: tls.TLSSocket): PeerRefusal | undefined {
    return verifyPeerSocket(peer, s, this.#caCerts);
  }

  #connect(peer: PeerGateway): OutLink {
    const raw = net.connect({ host: peer.address, port: this.#o.peering.port, localAddress: this.#o.localAddress });
    const socket = tls.connect({
      socket: raw,
      secureContext: this.#context,
      servername: peer.name,
      rejectUnauthorized: true,
      // The name is checked by checkPeerCertificate (CN or DNS SAN = the peer's name), with the address.
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.3',
    });
    const link: OutLink = { socket, secure: false, queue: [], awaiting: new Set() };
    this.#out.set(peer.name, link);
    let tcpUp = false;
    let failure: PeerFailure | undefined;
    let detail = '';
    raw.once('connect', () => (tcpUp = true));
    raw.on('error', () => undefined); // reported through the TLS socket
    socket.setTimeout(PEER_HANDSHAKE_TIMEOUT_MS, () => {
      if (!link.secure) {
        failure ??= tcpUp ? 'peer-unauthenticated' : 'peer-unreachable';
        detail = 'TLS handshake timed out';
      }
      socket.destroy();
    });
    socket.once('secureConnect', () => {
      const refusal = this.#verify(peer, socket);
      if (refusal !== undefined) {
        failure = refusal;
        detail = 'certificate check failed';
        this.#o.logger.warn({ code: refusal, peer: peer.name }, 'peer link refused');
        this.#o.onRefused?.(refusal, `${peer.address}:${this.#o.peering.port}`);
        socket.destroy();
        return;
      }
      link.secure = true;
      socket.setTimeout(PEER_LINK_IDLE_MS, () => socket.end());
      this.#o.logger.info({ peer: peer.name, address: peer.address }, 'peer link up');
      for (const q of link.queue.splice(0)) {
        link.awaiting.add(q.callId);
        socket.write(q.line);
      }
    });
    this.#readFrames(socket, `${peer.address}:${this.#o.peering.port}`, (frame) => {
      if (frame.t !== 'res') throw new Error('a request on our own link');
      if (frame.callId !== undefined) link.awaiting.delete(frame.callId);
      link.awaiting.clear(); // one request in flight per host: this answers it
      this.#o.onResponse(peer, frame);
    });
    socket.on('error', (err) => {
      // TLS alerts (the peer refused our certificate) and certificate errors are authentication failures.
      const code = (err as { code?: string }).code ?? '';
      if (failure === undefined) {
        failure = tcpUp && (/^ERR_SSL|CERT|SIGNATURE|ISSUER/.test(code) || !link.secure) ? 'peer-unauthenticated' : 'peer-unreachable';
        detail = sanitizeText(code || errText(err));
      }
    });
    socket.on('close', () => {
      if (this.#out.get(peer.name) === link) this.#out.delete(peer.name);
      const calls = [...link.awaiting, ...link.queue.map((q) => q.callId)];
      link.awaiting.clear();
      link.queue.length = 0;
      if (calls.length > 0 || failure !== undefined) {
        this.#o.logger.warn({ peer: peer.name, code: failure ?? 'peer-unreachable', detail }, 'peer link closed');
      }
      for (const callId of new Set(calls)) this.#o.onFailed(peer, callId, failure ?? 'peer-unreachable', detail || 'peer link closed');
    });
    return link;
  }

  #onInbound(socket: tls.TLSSocket): void {
    const address = plain(socket.remoteAddress);
    const from = `${address}:${socket.remotePort ?? 0}`;
    const peer = this.#byAddress.get(address);
    const refusal = peer === undefined ? 'peer-unknown-address' : this.#verify(peer, socket);
    if (peer === undefined || refusal !== undefined) {
      this.#o.logger.warn({ code: refusal, from }, 'peer link refused');
      this.#o.onRefused?.(refusal ?? 'peer-unknown-address', from);
      socket.destroy();
      return;
    }
    const linkId = `peer:${peer.name}:${++this.#nextLink}`;
    this.#in.set(linkId, { peer, socket });
    socket.setTimeout(PEER_LINK_IDLE_MS, () => socket.end());
    socket.on('close', () => this.#in.delete(linkId));
    socket.on('error', () => undefined);
    this.#o.logger.info({ peer: peer.name, from }, 'peer link accepted');
    const remotePort = socket.remotePort ?? 0;
    this.#readFrames(socket, from, (frame) => {
      if (frame.t !== 'req') throw new Error('an answer on the peer\'s link');
      this.#o.onRequest(peer, linkId, remotePort, frame);
    });
  }

  /** Reads frame lines; a malformed one closes the link (the peer is authenticated, so it is a bug or an attack). */
  #readFrames(socket: tls.TLSSocket, from: string, onFrame: (f: PeerFrame) => void): void {
    const splitter = new PeerFrameSplitter();
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      try {
        for (const line of splitter.push(chunk)) onFrame(decodePeerFrame(line));
      } catch (err: unknown) {
        this.#o.logger.warn({ code: 'peer-frame', from, err: sanitizeText(errText(err)) }, 'peer link closed: malformed frame');
        this.#o.onRefused?.('peer-frame', from);
        socket.destroy();
      }
    });
  }
}

function plain(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
