/**
 * One call's TCP relay (issue 4): a listener that accepts exactly one connection, only from the
 * expected peer, only before its deadline; then an onward connect and a two-way byte relay with
 * backpressure, edit characters passed untouched, optional sanitising, idle and duration limits.
 * Adapter: owns sockets and timers; reports through callbacks; never throws out of a socket handler.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../../shared/clock.js';
import { StreamSanitizer } from '../stream-sanitizer.js';
import {
  RELAY_CLOSE_GRACE_MS,
  RELAY_CONNECT_TIMEOUT_MS,
  RELAY_EDIT_CHARS_SIZE,
  RELAY_LISTEN_BACKLOG,
  RELAY_SLICE_MAX_BYTES,
  RELAY_SLICE_MIN_BYTES,
  RELAY_TURN_BUDGET_MS,
} from './relay-constants.js';
import type { RelayByteCounts, RelayEvents, RelayLogger, RelayOpenRequest } from './relay-types.js';

type Phase = 'listening' | 'connecting' | 'relaying' | 'ended';

/** Strips the IPv4-mapped prefix a dual-stack socket reports. */
export function plainIPv4(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** One direction of the relay: counts, passes the edit characters, sanitises the rest. */
class Direction {
  bytes = 0;
  readonly name: 'in' | 'out';
  #editSeen = 0;
  #edit: Uint8Array | undefined;
  #sanitizer: StreamSanitizer | undefined;
  readonly #sanitize: boolean;

  constructor(name: 'in' | 'out', sanitize: boolean) {
    this.name = name;
    this.#sanitize = sanitize;
  }

  /** Returns the bytes to forward for one chunk read from the source. */
  transform(chunk: Buffer): Uint8Array {
    this.bytes += chunk.length;
    if (!this.#sanitize) return chunk;
    if (this.#editSeen >= RELAY_EDIT_CHARS_SIZE) return this.#sanitizer!.push(chunk);
    const take = Math.min(RELAY_EDIT_CHARS_SIZE - this.#editSeen, chunk.length);
    this.#edit ??= new Uint8Array(RELAY_EDIT_CHARS_SIZE);
    this.#edit.set(chunk.subarray(0, take), this.#editSeen);
    this.#editSeen += take;
    if (this.#editSeen < RELAY_EDIT_CHARS_SIZE) return chunk;
    this.#sanitizer = new StreamSanitizer({ editChars: this.#edit });
    this.#edit = undefined;
    if (take === chunk.length) return chunk;
    const rest = this.#sanitizer.push(chunk.subarray(take));
    return Buffer.concat([chunk.subarray(0, take), rest]);
  }

  flush(): Uint8Array | undefined {
    const tail = this.#sanitizer?.flush();
    return tail !== undefined && tail.length > 0 ? tail : undefined;
  }
}

export interface RelayCallOptions {
  req: RelayOpenRequest;
  clock: Clock;
  events: RelayEvents;
  logger: RelayLogger;
  /** Called once when the listener has closed (its port may be reused). */
  onListenerClosed: () => void;
  /** Called once after onEnded. */
  onFinished: () => void;
}

export class RelayCall {
  readonly callId: string;
  readonly port: number;
  #phase: Phase = 'listening';
  readonly #o: RelayCallOptions;
  readonly #server: net.Server;
  #listenerOpen = true;
  #peer: net.Socket | undefined;
  #target: net.Socket | undefined;
  readonly #in: Direction;
  readonly #out: Direction;
  #startedAt = 0;
  #lastActivity = 0;
  #timer: NodeJS.Timeout | undefined;
  #deadline = 0;
  #closedSides = 0;
  #closeReason: string | undefined;

  private constructor(o: RelayCallOptions, server: net.Server, port: number) {
    this.#o = o;
    this.callId = o.req.callId;
    this.#server = server;
    this.port = port;
    this.#in = new Direction('in', o.req.sanitize);
    this.#out = new Direction('out', o.req.sanitize);
  }

  /** Listens on `port`; rejects with the listen error (EADDRINUSE etc.). */
  static async listen(o: RelayCallOptions, port: number): Promise<RelayCall> {
    // Half-open on both legs: a FIN from one side ends only that direction (issue 18).
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: o.req.listenAddress, port, backlog: RELAY_LISTEN_BACKLOG, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const call = new RelayCall(o, server, port);
    server.on('connection', (s) => call.#onConnection(s));
    server.on('error', (err) => call.#finish(`listener-error:${errCode(err)}`));
    call.#arm(o.req.acceptDeadlineMs, () => call.#finish('accept-timeout'));
    return call;
  }

  get listening(): boolean {
    return this.#listenerOpen;
  }

  /** Bytes read so far from each side (live, while the call relays). */
  stats(): RelayByteCounts {
    return { bytesIn: this.#in.bytes, bytesOut: this.#out.bytes };
  }

  /** Ends the call now (the gateway's decision: DELETE, shutdown). */
  close(reason: string): void {
    this.#finish(reason);
  }

  #onConnection(socket: net.Socket): void {
    const from = `${plainIPv4(socket.remoteAddress)}:${socket.remotePort ?? 0}`;
    if (this.#phase !== 'listening' || plainIPv4(socket.remoteAddress) !== this.#o.req.expectedPeer) {
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      this.#o.logger.warn({ callId: this.callId, from, port: this.port }, 'relay refused a connection');
      this.#o.events.onRefusedConnection(this.callId, from);
      return;
    }
    this.#phase = 'connecting';
    this.#closeListener();
    const listenLeg = this.#o.req.tls?.listen;
    if (listenLeg === undefined) {
      this.#peer = socket;
      this.#connectOnward(from, socket);
      return;
    }
    // The peer gateway's leg: TLS server, its certificate required and checked before a byte is relayed.
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: listenLeg.secureContext, requestCert: true, rejectUnauthorized: true });
    this.#peer = secure;
    secure.on('error', (err) => this.#finish(`peer-tls-error:${errCode(err)}`));
    secure.on('close', () => this.#onClose('peer-closed'));
    this.#arm(RELAY_CONNECT_TIMEOUT_MS, () => this.#finish('peer-tls-timeout'));
    secure.once('secure', () => {
      const refusal = listenLeg.verify(secure);
      if (refusal !== undefined) return this.#finish(`peer-tls-refused:${refusal}`);
      secure.pause();
      this.#connectOnward(from, secure);
    });
    socket.resume();
  }

  #connectOnward(from: string, peer: net.Socket): void {
    // Reported before the onward connect: the caller's accept() (and its DELETE) can only follow it.
    this.#o.events.onAccepted?.(this.callId, from);
    if (this.#o.req.tls?.listen === undefined) {
      peer.on('error', (err) => this.#finish(`peer-error:${errCode(err)}`));
      peer.on('close', () => this.#onClose('peer-closed'));
    }
    const { target, bindAddress } = this.#o.req;
    const connectLeg = this.#o.req.tls?.connect;
    const raw = net.connect({
      host: target.address,
      port: target.port,
      allowHalfOpen: true,
      ...(bindAddress === undefined ? {} : { localAddress: bindAddress }),
    });
    const onward: net.Socket =
      connectLeg === undefined
        ? raw
        : tls.connect({
            socket: raw,
            secureContext: connectLeg.secureContext,
            servername: connectLeg.servername,
            rejectUnauthorized: true,
            // Name, address and fingerprint: connectLeg.verify below.
            checkServerIdentity: () => undefined,
            minVersion: 'TLSv1.3',
          });
    if (connectLeg !== undefined) raw.on('error', () => undefined); // reported by the TLS socket
    this.#target = onward;
    onward.on('error', (err) => this.#finish(`${this.#phase === 'connecting' ? 'connect' : 'target'}-error:${errCode(err)}`));
    onward.on('close', () => this.#onClose('target-closed'));
    this.#arm(Math.min(RELAY_CONNECT_TIMEOUT_MS, this.#o.req.idleTimeoutMs), () => this.#finish('connect-timeout'));
    if (connectLeg === undefined) {
      onward.once('connect', () => this.#onRelaying(from, peer, onward));
      return;
    }
    onward.once('secureConnect', () => {
      const refusal = connectLeg.verify(onward as tls.TLSSocket);
      if (refusal !== undefined) return this.#finish(`target-tls-refused:${refusal}`);
      this.#onRelaying(from, peer, onward);
    });
  }

  #onRelaying(from: string, peer: net.Socket, target: net.Socket): void {
    if (this.#phase !== 'connecting') return;
    this.#phase = 'relaying';
    this.#startedAt = this.#lastActivity = this.#o.clock.now();
    this.#deadline = this.#startedAt + this.#o.req.maxDurationMs;
    peer.setNoDelay(true);
    target.setNoDelay(true);
    this.#pump(peer, target, this.#in);
    this.#pump(target, peer, this.#out);
    peer.resume();
    this.#armLimits();
    const to = `${this.#o.req.target.address}:${this.#o.req.target.port}`;
    this.#o.logger.info({ callId: this.callId, peer: from, target: to }, 'relay connected');
    this.#o.events.onConnected(this.callId, { peer: from, target: to });
  }

  /**
   * Manual pipe: transform, write, pause on backpressure; half-close forwarded (the source's FIN
   * ends the destination's writing side only, the other direction keeps flowing). Work is sliced
   * (issue 18): a read is transformed in pieces (RELAY_SLICE_MIN_BYTES, doubling up to
   * RELAY_SLICE_MAX_BYTES while pieces pass untouched), and once a turn has spent
   * RELAY_TURN_BUDGET_MS the rest waits for the next event-loop turn with the source paused, so an
   * escape-heavy stream never holds up control messages for more than one slice. The slices of one
   * turn leave in one writev (cork/uncork), so clean text costs no extra system calls.
   */
  #pump(src: net.Socket, dst: net.Socket, dir: Direction): void {
    /** The part of the last read not yet relayed (at most one read: the source is paused meanwhile). */
    let rest: Buffer | undefined;
    let blocked = false;
    let scheduled = false;
    /** Size of the next piece: grows while pieces pass untouched (cheap), back to the minimum when one is rewritten. */
    let pieceBytes = RELAY_SLICE_MIN_BYTES;
    const onDrain = (): void => {
      blocked = false;
      if (rest === undefined && this.#phase === 'relaying') src.resume();
    };
    const step = (): void => {
      const t0 = performance.now();
      dst.cork();
      while (rest !== undefined) {
        const piece: Buffer = rest.length <= pieceBytes ? rest : rest.subarray(0, pieceBytes);
        rest = piece === rest ? undefined : rest.subarray(pieceBytes);
        const out = dir.transform(piece);
        pieceBytes = out === piece ? Math.min(2 * pieceBytes, RELAY_SLICE_MAX_BYTES) : RELAY_SLICE_MIN_BYTES;
        this.#o.events.onBytes?.(this.callId, dir.name, piece.length);
        if (out.length > 0 && !dst.write(out) && !blocked) {
          blocked = true;
          dst.once('drain', onDrain);
        }
        if (rest !== undefined && performance.now() - t0 >= RELAY_TURN_BUDGET_MS) break;
      }
      dst.uncork();
      if (rest !== undefined) {
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            if (this.#phase === 'relaying') step();
          });
        }
      } else if (!blocked && this.#phase === 'relaying') {
        src.resume();
      }
    };
    src.on('data', (chunk: Buffer) => {
      this.#lastActivity = this.#o.clock.now();
      rest = chunk;
      src.pause();
      step();
    });
    // 'end' follows the last 'data' only once the source is resumed, i.e. after `rest` was relayed.
    src.on('end', () => {
      const tail = dir.flush();
      if (tail !== undefined) dst.write(tail);
      dst.end();
    });
  }

  /**
   * A socket closed. While relaying, the other side is ended gracefully (its queued bytes still
   * flow) and the call finishes when it closes too, or after RELAY_CLOSE_GRACE_MS.
   */
  #onClose(reason: string): void {
    if (this.#phase !== 'relaying') return this.#finish(reason);
    this.#closeReason ??= reason;
    if (++this.#closedSides === 2) return this.#finish(this.#closeReason);
    (reason === 'peer-closed' ? this.#target : this.#peer)?.end();
    this.#arm(RELAY_CLOSE_GRACE_MS, () => this.#finish(this.#closeReason ?? reason));
  }

  /** One timer per call: idle timeout and maximum duration, re-armed lazily (no per-byte timer reset). */
  #armLimits(): void {
    const now = this.#o.clock.now();
    const idleAt = this.#lastActivity + this.#o.req.idleTimeoutMs;
    if (this.#closedSides > 0) return; // closing: the grace timer owns the call now
    if (now >= this.#deadline) return this.#finish('max-duration');
    if (now >= idleAt) return this.#finish('idle-timeout');
    this.#arm(Math.min(idleAt, this.#deadline) - now, () => this.#armLimits());
  }

  #arm(ms: number, fn: () => void): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(fn, Math.max(1, Math.ceil(ms)));
    this.#timer.unref();
  }

  #closeListener(): void {
    if (!this.#listenerOpen) return;
    this.#listenerOpen = false;
    // The listening socket is closed at once; server.close()'s callback would wait for the accepted
    // connection to end too, keeping the port "busy" for the whole call and capping concurrent calls
    // at the size of the port range. The port can take a new listener while the call relays.
    this.#server.close();
    this.#o.onListenerClosed();
  }

  #finish(reason: string): void {
    if (this.#phase === 'ended') return;
    const wasRelaying = this.#phase === 'relaying';
    this.#phase = 'ended';
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closeListener();
    this.#peer?.destroy();
    this.#target?.destroy();
    const durationMs = wasRelaying ? Math.max(0, this.#o.clock.now() - this.#startedAt) : 0;
    const info = { bytesIn: this.#in.bytes, bytesOut: this.#out.bytes, durationMs, reason };
    this.#o.logger.info({ callId: this.callId, ...info }, 'relay ended');
    try {
      this.#o.events.onEnded(this.callId, info);
    } finally {
      this.#o.onFinished();
    }
  }
}

function errCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown';
}
