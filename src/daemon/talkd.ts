/**
 * The talkd service: wires datagram endpoints (ntalk and/or otalk) to the pure request core.
 * Per datagram: rate limit by source, decode (a DecodeError is counted, logged sanitised and
 * dropped here, the only catch), look up the user and the caller's host for ANNOUNCE, process,
 * write the announcement (bounded, coalesced per tty), and answer to the packet source in the
 * requester's protocol and byte order. Nothing a peer sends can make it throw.
 *
 * Logging: every line of a request carries its request id. ANNOUNCEs (whatever their answer) and
 * refusals are logged at info; the routine rendezvous steps (LOOK_UP, LEAVE_INVITE, DELETE
 * answered SUCCESS or NOT_HERE) at debug, so the per-request cost of a busy daemon is not a JSON
 * line per LOOK_UP. Malformed datagrams, table-full refusals and fair-share replacements go
 * through the PressureLog: the first of each kind per PRESSURE_SUMMARY_INTERVAL_MS is logged in
 * full, the rest in one summary line per window with counts and a sample of sources.
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
import { PERMISSION_DENIED_MESSAGES } from './permission-denied-reason.js';
import { PressureLog, type PressureCode } from './pressure-log.js';
import { isUsableCallerName, processRequest, type DaemonEvent, type DaemonResponse, type TalkFlavour } from './process-request.js';
import type { TtyWriteOutcome } from './tty-writer.js';
import type { UserLookup } from './user-lookup.js';
import {
  DEFAULT_MAX_INVITATIONS_PER_SOURCE,
  MAX_ANNOUNCES_IN_FLIGHT,
  MAX_RATE_SOURCES,
  PRESSURE_SAMPLED_SOURCES,
  PRESSURE_SUMMARY_INTERVAL_MS,
  PRESSURE_TRACKED_SOURCES,
} from './daemon-limits.js';

export interface TalkdDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly daemonHost: string;
  readonly maxInvitations: number;
  /** Fair share of the table per source address; defaults to min(DEFAULT_MAX_INVITATIONS_PER_SOURCE, maxInvitations). */
  readonly maxInvitationsPerSource?: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  isLocalAddress(address: string): boolean;
  lookUpUser(name: string, tty: string): Promise<UserLookup>;
  resolveCallerHost(address: string): Promise<string>;
  /** Writes the announcement; resolves to SUCCESS, FAILED or PERMISSION_DENIED with its reason. */
  writeTty(tty: string, text: Uint8Array): Promise<TtyWriteOutcome>;
}

export interface TalkdCounters {
  received: number;
  answered: number;
  malformed: number;
  rateLimited: number;
  sendErrors: number;
}

const WRITE_FAILED: TtyWriteOutcome = { answer: Answer.FAILED };

export class TalkdService {
  readonly #deps: TalkdDeps;
  readonly #table: InvitationTable;
  readonly #limiter: RateLimiter;
  readonly #endpoints: Array<{ endpoint: DatagramEndpoint; flavour: TalkFlavour }> = [];
  readonly #writes = new Map<string, Promise<TtyWriteOutcome>>();
  readonly #pressure: PressureLog;
  #pressureTimer: NodeJS.Timeout | undefined;
  #requestSeq = 0;
  #closed = false;
  #lastActivity: number;
  readonly counters: TalkdCounters = { received: 0, answered: 0, malformed: 0, rateLimited: 0, sendErrors: 0 };

  constructor(deps: TalkdDeps) {
    this.#deps = deps;
    this.#table = new InvitationTable({
      clock: deps.clock,
      capacity: deps.maxInvitations,
      maxPerSource: deps.maxInvitationsPerSource ?? Math.min(DEFAULT_MAX_INVITATIONS_PER_SOURCE, deps.maxInvitations),
    });
    this.#pressure = new PressureLog({
      clock: deps.clock,
      intervalMs: PRESSURE_SUMMARY_INTERVAL_MS,
      maxSampledSources: PRESSURE_SAMPLED_SOURCES,
      maxTrackedSources: PRESSURE_TRACKED_SOURCES,
    });
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

  /** Stops serving; idempotent. The pending pressure summary is logged first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pressureTimer !== undefined) clearTimeout(this.#pressureTimer);
    this.#pressureTimer = undefined;
    this.#logSummary(this.#pressure.take());
    await Promise.all(this.#endpoints.map((e) => e.endpoint.close()));
  }

  /** Counts a refusal under pressure; true when the caller should log this one in full. */
  #notePressure(code: PressureCode, source: string, reqId: string): boolean {
    const first = this.#pressure.note(code, source, reqId);
    if (this.#pressureTimer === undefined) {
      // Real time on purpose: the summary must come out even when the flood stops (the Clock
      // decides whether it is due, so a ManualClock only summarises when advanced).
      this.#pressureTimer = setTimeout(() => {
        this.#pressureTimer = undefined;
        this.#flushPressure();
      }, PRESSURE_SUMMARY_INTERVAL_MS);
      this.#pressureTimer.unref();
    }
    return first;
  }

  #flushPressure(): void {
    if (this.#pressure.dueAt === undefined) return;
    this.#logSummary(this.#pressure.takeDue());
  }

  #logSummary(summary: ReturnType<PressureLog['take']>): void {
    if (summary === undefined) return;
    this.#deps.logger.warn(
      {
        reqIds: `${summary.firstReqId}..${summary.lastReqId}`,
        windowMs: Math.round(summary.windowMs),
        ...summary.counts,
        sources: summary.sources,
        ...(summary.sourcesCapped ? { sourcesCapped: true } : {}),
        sampled: summary.sampled.map((a) => sanitizeText(a)),
      },
      'refused under pressure (summary of the window; the first of each kind was logged in full)',
    );
  }

  async #handle(endpoint: DatagramEndpoint, port: TalkFlavour, bytes: Uint8Array, peer: DatagramPeer): Promise<void> {
    const log = this.#deps.logger;
    const now = this.#deps.clock.now();
    this.#lastActivity = now;
    this.counters.received++;
    const reqId = `${port}-${++this.#requestSeq}`;
    if (this.#pressure.dueAt !== undefined && now >= this.#pressure.dueAt) this.#flushPressure();
    if (!this.#limiter.allow(peer.address)) {
      this.counters.rateLimited++;
      if (log.isLevelEnabled('debug')) log.debug({ reqId, src: `${peer.address}:${peer.port}` }, 'rate limited, dropped');
      return;
    }
    let decoded: AnyCtlMsg;
    try {
      decoded = decodeAnyCtlMsg(bytes);
    } catch (err: unknown) {
      if (!(err instanceof DecodeError)) throw err;
      this.counters.malformed++;
      if (this.#notePressure('malformed', peer.address, reqId)) {
        log.warn(
          {
            reqId,
            src: `${peer.address}:${peer.port}`,
            length: bytes.byteLength,
            field: err.field,
            offset: err.offset,
            detail: sanitizeText(err.message),
          },
          'malformed datagram dropped (more in this window are summarised)',
        );
      }
      return;
    }
    const msg = decoded.msg;
    const flavour = decoded.protocol;
    let user: UserLookup | undefined;
    let callerHost: string | undefined;
    const versionOk = flavour === 'otalk' || decoded.msg.version === TALK_VERSION;
    if (msg.type === RequestType.ANNOUNCE && versionOk && isUsableCallerName(msg.lName)) {
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
    /** True when the request's refusal was only counted (its request line then goes at debug). */
    let summarised = false;
    for (const ev of result.events) summarised = this.#logEvent(ev, reqId, peer.address) || summarised;
    let response: DaemonResponse = result.response;
    if (result.announce !== undefined) {
      const outcome = await this.#announce(result.announce.tty, result.announce.text);
      response = { ...response, answer: outcome.answer };
      if (outcome.answer === Answer.PERMISSION_DENIED) {
        log.info(
          { reqId, reason: outcome.reason, ...(outcome.errno !== undefined ? { errno: outcome.errno } : {}), tty: sanitizeText(result.announce.tty) },
          `permission denied: ${PERMISSION_DENIED_MESSAGES[outcome.reason]}`,
        );
      }
    }
    const wire =
      flavour === 'ntalk'
        ? encodeNtalkCtlResponse({ type: response.type, answer: response.answer, id: response.id, addr: response.addr, version: TALK_VERSION })
        : encodeOtalkCtlResponse({ ...response, byteOrder: decoded.protocol === 'otalk' ? decoded.msg.byteOrder : 'big', layout: 'padded' });
    endpoint.send(wire, peer.port, peer.address);
    this.counters.answered++;
    const routine =
      msg.type !== RequestType.ANNOUNCE && (response.answer === Answer.SUCCESS || response.answer === Answer.NOT_HERE);
    const level = routine || summarised ? 'debug' : 'info';
    if (!log.isLevelEnabled(level)) return;
    log[level](
      {
        reqId,
        src: `${peer.address}:${peer.port}`,
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
        ms: Math.round((this.#deps.clock.now() - now) * 1000) / 1000,
      },
      'request',
    );
  }

  /** Logs one event of a request; true when it was a refusal under pressure only counted. */
  #logEvent(ev: DaemonEvent, reqId: string, source: string): boolean {
    const log = this.#deps.logger;
    switch (ev.event) {
      case 'table-full':
        if (!this.#notePressure('table-full', source, reqId)) return true;
        log.warn({ reqId, ...ev }, 'invitation table full, request refused (more in this window are summarised)');
        return false;
      case 'invitation-replaced':
        if (!this.#notePressure('share-replaced', source, reqId)) return false;
        log.warn(
          { reqId, ...ev, source: sanitizeText(ev.source) },
          'invitation replaced to keep the fair share per source (more in this window are summarised)',
        );
        return false;
      case 'caller-name-unusable':
        log.info({ reqId, event: ev.event }, 'announce refused: the caller name (l_name) is empty or has no visible character');
        return false;
      case 'permission-denied':
        log.info({ reqId, ...ev }, `permission denied: ${PERMISSION_DENIED_MESSAGES[ev.reason]}`);
        return false;
      default:
        if (log.isLevelEnabled('debug')) log.debug({ reqId, ...ev }, ev.event);
        return false;
    }
  }

  /** One write per tty at a time (retransmits share it), at most MAX_ANNOUNCES_IN_FLIGHT in all. */
  #announce(tty: string, text: Uint8Array): Promise<TtyWriteOutcome> {
    const inFlight = this.#writes.get(tty);
    if (inFlight !== undefined) return inFlight;
    if (this.#writes.size >= MAX_ANNOUNCES_IN_FLIGHT) return Promise.resolve(WRITE_FAILED);
    const p = this.#deps
      .writeTty(tty, text)
      .catch(() => WRITE_FAILED)
      .finally(() => this.#writes.delete(tty));
    this.#writes.set(tty, p);
    return p;
  }
}
