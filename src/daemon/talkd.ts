/**
 * The talkd service: wires datagram endpoints (ntalk and/or otalk) to the pure request core.
 * Per datagram: rate limit by source, decode (a DecodeError is counted, logged sanitised and
 * dropped here, the only catch), look up the user and the caller's host for ANNOUNCE, process,
 * write the announcement (bounded, coalesced per tty), and answer to the packet source in the
 * requester's protocol and byte order. Nothing a peer sends can make it throw.
 */
import { DecodeError } from '../protocol/decode-error.js';
import { encodeNtalkCtlResponse, encodeOtalkCtlResponse, decodeAnyCtlMsg, type AnyCtlMsg } from '../protocol/index.js';
import { Answer, answerName, RequestType, requestTypeName } from '../protocol/talk-types.js';
import { TALK_VERSION } from '../protocol/constants.js';
import type { Clock } from '../shared/clock.js';
import { RateLimiter } from '../shared/rate-limiter.js';
import { sanitizeText } from '../shared/sanitize.js';
import type { Logger } from '../observability/logger.js';
import type { DatagramEndpoint, DatagramPeer } from '../native/datagram-endpoint.js';
import { InvitationTable } from './invitation-table.js';
import { processRequest, type DaemonResponse, type TalkFlavour } from './process-request.js';
import type { UserLookup } from './user-lookup.js';
import { MAX_ANNOUNCES_IN_FLIGHT, MAX_RATE_SOURCES } from './daemon-limits.js';

export interface TalkdDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly daemonHost: string;
  readonly maxInvitations: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  isLocalAddress(address: string): boolean;
  lookUpUser(name: string, tty: string): Promise<UserLookup>;
  resolveCallerHost(address: string): Promise<string>;
  /** Writes the announcement; resolves to SUCCESS, FAILED or PERMISSION_DENIED. */
  writeTty(tty: string, text: Uint8Array): Promise<number>;
}

export interface TalkdCounters {
  received: number;
  answered: number;
  malformed: number;
  rateLimited: number;
  sendErrors: number;
}

export class TalkdService {
  readonly #deps: TalkdDeps;
  readonly #table: InvitationTable;
  readonly #limiter: RateLimiter;
  readonly #endpoints: Array<{ endpoint: DatagramEndpoint; flavour: TalkFlavour }> = [];
  readonly #writes = new Map<string, Promise<number>>();
  #requestSeq = 0;
  #lastActivity: number;
  readonly counters: TalkdCounters = { received: 0, answered: 0, malformed: 0, rateLimited: 0, sendErrors: 0 };

  constructor(deps: TalkdDeps) {
    this.#deps = deps;
    this.#table = new InvitationTable({ clock: deps.clock, capacity: deps.maxInvitations });
    this.#limiter = new RateLimiter({
      clock: deps.clock,
      ratePerSecond: deps.ratePerSecond,
      burst: deps.rateBurst,
      maxKeys: MAX_RATE_SOURCES,
    });
    this.#lastActivity = deps.clock.now();
  }

  /** Clock.now() of the last datagram received (for the inetd idle exit). */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  /** Serves `endpoint`; `flavour` is the port's protocol (both accept either message length, as netkit). */
  attach(endpoint: DatagramEndpoint, flavour: TalkFlavour): void {
    this.#endpoints.push({ endpoint, flavour });
    const local = endpoint.localAddress();
    endpoint.onError((err) => {
      this.counters.sendErrors++;
      this.#deps.logger.warn({ port: local.port, err: sanitizeText(err.message) }, 'socket error');
    });
    endpoint.onMessage((bytes, peer) => {
      void this.#handle(endpoint, flavour, bytes, peer).catch((err: unknown) => {
        // Defensive: #handle catches what peers can cause; anything else is a bug, logged, never fatal.
        this.#deps.logger.error({ err: sanitizeText(String(err)) }, 'internal error handling a datagram');
      });
    });
    this.#deps.logger.info({ flavour, address: local.address, port: local.port }, 'listening');
  }

  async close(): Promise<void> {
    await Promise.all(this.#endpoints.map((e) => e.endpoint.close()));
  }

  async #handle(endpoint: DatagramEndpoint, port: TalkFlavour, bytes: Uint8Array, peer: DatagramPeer): Promise<void> {
    const log = this.#deps.logger;
    this.#lastActivity = this.#deps.clock.now();
    this.counters.received++;
    const reqId = `${port}-${++this.#requestSeq}`;
    const src = `${peer.address}:${peer.port}`;
    if (!this.#limiter.allow(peer.address)) {
      this.counters.rateLimited++;
      log.debug({ reqId, src }, 'rate limited, dropped');
      return;
    }
    let decoded: AnyCtlMsg;
    try {
      decoded = decodeAnyCtlMsg(bytes);
    } catch (err: unknown) {
      if (!(err instanceof DecodeError)) throw err;
      this.counters.malformed++;
      log.warn(
        { reqId, src, length: bytes.byteLength, field: err.field, offset: err.offset, detail: sanitizeText(err.message) },
        'malformed datagram dropped',
      );
      return;
    }
    const msg = decoded.msg;
    const flavour = decoded.protocol;
    const started = this.#deps.clock.now();
    let user: UserLookup | undefined;
    let callerHost: string | undefined;
    const versionOk = flavour === 'otalk' || decoded.msg.version === TALK_VERSION;
    if (msg.type === RequestType.ANNOUNCE && versionOk) {
      [user, callerHost] = await Promise.all([
        this.#deps.lookUpUser(msg.rName, msg.rTty),
        this.#deps.resolveCallerHost(peer.address),
      ]);
    }
    const result = processRequest(msg, peer, {
      flavour,
      table: this.#table,
      clock: this.#deps.clock,
      isLocalAddress: (a) => this.#deps.isLocalAddress(a),
      daemonHost: this.#deps.daemonHost,
      ...(user !== undefined ? { user } : {}),
      ...(callerHost !== undefined ? { callerHost } : {}),
    });
    for (const ev of result.events) {
      if (ev.event === 'table-full') log.warn({ reqId, ...ev }, 'invitation table full, request refused');
      else log.debug({ reqId, ...ev }, ev.event);
    }
    let response: DaemonResponse = result.response;
    if (result.announce !== undefined) {
      const outcome = await this.#announce(result.announce.tty, result.announce.text);
      response = { ...response, answer: outcome };
    }
    const wire =
      flavour === 'ntalk'
        ? encodeNtalkCtlResponse({ ...response, version: TALK_VERSION })
        : encodeOtalkCtlResponse({ ...response, byteOrder: decoded.protocol === 'otalk' ? decoded.msg.byteOrder : 'big', layout: 'padded' });
    endpoint.send(wire, peer.port, peer.address);
    this.counters.answered++;
    log.info(
      {
        reqId,
        src,
        port,
        flavour,
        type: requestTypeName(msg.type),
        lName: sanitizeText(msg.lName),
        rName: sanitizeText(msg.rName),
        ...(msg.rTty !== '' ? { rTty: sanitizeText(msg.rTty) } : {}),
        ...(callerHost !== undefined ? { callerHost: sanitizeText(callerHost) } : {}),
        ...(result.announce !== undefined ? { tty: sanitizeText(result.announce.tty) } : {}),
        answer: answerName(response.answer),
        id: response.id,
        ms: Math.round((this.#deps.clock.now() - started) * 1000) / 1000,
      },
      'request',
    );
  }

  /** One write per tty at a time (retransmits share it), at most MAX_ANNOUNCES_IN_FLIGHT in all. */
  #announce(tty: string, text: Uint8Array): Promise<number> {
    const inFlight = this.#writes.get(tty);
    if (inFlight !== undefined) return inFlight;
    if (this.#writes.size >= MAX_ANNOUNCES_IN_FLIGHT) return Promise.resolve(Answer.FAILED);
    const p = this.#deps
      .writeTty(tty, text)
      .catch(() => Answer.FAILED)
      .finally(() => this.#writes.delete(tty));
    this.#writes.set(tty, p);
    return p;
  }
}
