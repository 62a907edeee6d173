/**
 * The gateway session core (pure, clock injected). One instance holds the call table and turns
 * each {@link SessionInput} (a client request on a face, a daemon's response, a resolver or data
 * path result, a clock tick) into {@link Effect}s for the adapters.
 *
 * A call, for both directions (caller side C, callee side K = the other side):
 *   1. caller's ANNOUNCE arrives on C → checks (rate, spoofing, names) → fair shares of the call
 *      table (call-table-shares.ts: per source, per outside network, per side, per callee; another
 *      ANNOUNCE from an address for a callee it already rings is a repeat of that call) → checks
 *      (addr) → route (directory or
 *      user%host) → resolve the callee host in K's name context → policy → open a data path on K
 *      (listener for the callee host only, connecting onward to the caller's rendezvous addr) →
 *      ANNOUNCE to the callee's daemon from the gateway's K address (ntalk probed, otalk fallback),
 *      with l_name = the caller as K should name it, addr = the data path, ctl_addr = the gateway →
 *      daemon's answer relayed to the caller under a gateway-assigned id (the id map).
 *   2. caller's re-announce (id > last id given) → ANNOUNCE(daemon id + 1); a duplicate (id <= last)
 *      → the cached answer, nothing forwarded (the daemon would not ring either).
 *   3. callee's LOOK_UP arrives on K (l_name = callee, r_name = the presented caller name), from the
 *      callee host → SUCCESS, addr = the data path; also before the daemon's answer to step 1 is
 *      back (talkd rings the terminal first; the caller's resends stay absorbed until that answer).
 *      The callee connects, the data path connects to the caller, whose accept() returns.
 *   4. caller's DELETE(id) → DELETE(daemon id, addr = the data path as in the ANNOUNCE: talkd answers
 *      BADADDR to any other family) to the callee's daemon; a call still ringing (never
 *      looked up) ends; an answered one keeps its data path. Callee's DELETE(lookup id) (its
 *      ECONNREFUSED path) ends the call.
 * A policy refusal, an unknown name or a missing data path is answered before anything is sent to
 * the callee's side, so a refused call never rings.
 */
import { CALL_REASONS, type CallReason } from './call-reason.js';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { AF_INET, IMPOSSIBLE_ID, MAX_ID, TALK_VERSION } from '../../protocol/constants.js';
import { Answer, answerName, NO_ADDR, RequestType, requestTypeName, type CtlMsg, type SockAddrIn } from '../../protocol/talk-types.js';
import { sanitizeText, isPrintableName } from '../../shared/sanitize.js';
import type { Clock } from '../../shared/clock.js';
import type { CallState, GatewayCallStatus, GatewayStatus } from '../gateway-status.js';
import { cidrContains, isLoopback } from '../../shared/ipv4-cidr.js';
import { evaluatePolicy } from '../policy.js';
import { ClassicalRouter, type CallRouter } from './call-router.js';
import {
  CALL_IDLE_EXPIRY_MS,
  DATA_PATH_ACCEPT_DEADLINE_MS,
  GATEWAY_CTL_TRIES,
  GATEWAY_CTL_WAIT_MS,
  MAX_QUEUED_REQUESTS_PER_HOST,
  RATE_REFUSAL_SUMMARY_MS,
  RESOLVE_TIMEOUT_MS,
} from './session-constants.js';
import type {
  AnyRequest,
  AnyResponse,
  Direction,
  Effect,
  Endpoint,
  Ingress,
  PeerOrigin,
  SessionCounter,
  SessionInput,
  Side,
  TalkProtocol,
} from './session-types.js';
import { NewCallRateLimiter } from './new-call-rate-limiter.js';
import { RateLimiter } from '../../shared/rate-limiter.js';
import { MAX_RATE_SOURCES } from './session-constants.js';
import { VersionCache } from './version-cache.js';
import { CallTableShares, SHARE_REFUSAL_MESSAGES, type ShareLimits, type ShareRefusal } from './call-table-shares.js';
import { RefusalSummary } from './refusal-summary.js';
import { MAX_PENDING_RECOVERIES, recoveryKey, recoveryNames, type PendingRecovery } from './call-recovery.js';

/** Call ids are `c-` + 6 digits: 1 … CALL_ID_SPACE. */
const CALL_ID_SPACE = 999_999;
/** Longest name each protocol carries (NAME_SIZE - 1, the last byte is forced NUL). */
const NAME_LIMIT: Record<TalkProtocol, number> = { ntalk: 11, otalk: 8 };
/** otalk defines answers 0–5 only; later codes are reported as FAILED to otalk clients. */
const OTALK_MAX_ANSWER = Answer.UNKNOWN_REQUEST;

interface Call {
  readonly id: string;
  readonly direction: Direction;
  readonly callerSide: Side;
  readonly calleeSide: Side;
  /** Key of the caller's ANNOUNCE stream (source, names, pid), for resends and re-announces. */
  readonly callerKey: string;
  ingress: Ingress;
  readonly callerProtocol: TalkProtocol;
  readonly callerOtalkOrder: 'big' | 'little';
  readonly callerUser: string;
  readonly requestedName: string;
  readonly callerAddr: Endpoint;
  calleeUser: string;
  calleeHost: string;
  calleeAddress?: string;
  calleeProtocol?: TalkProtocol;
  presentedCaller: string;
  state: CallState;
  sinceWall: number;
  touched: number;
  deadline?: number;
  dataPath?: Endpoint;
  /** Last id given to the caller (0 = none yet). */
  clientId: number;
  /** Last id the callee's daemon assigned. */
  daemonId: number;
  /** Id given to the callee in LOOK_UP answers (0 = none yet). */
  lookupId: number;
  lastAnswer: number;
  /** The id of the caller's last re-announce (its resends are duplicates even if the new id wrapped below it). */
  lastReannounceId: number;
  /** A re-announce is in flight (resends of it are absorbed). */
  reannouncing: boolean;
  /** The callee's daemon answered the first ANNOUNCE (the callee may look the call up before that answer reaches us). */
  announced: boolean;
  /** Rebuilt from the daemons on a callee's LOOK_UP (call-recovery.ts): that LOOK_UP is answered once the data path opens. */
  recovery?: PendingRecovery;
  /** The peer gateway on the far side (issue 15): the caller's (its link) or the callee host's. */
  peerGateway?: string;
  /** That gateway's own call id, as its link told us. */
  peerCallId?: string;
}

interface Outstanding {
  readonly callId: string;
  readonly side: Side;
  readonly host: string;
  readonly type: number;
  readonly purpose: 'announce' | 'reannounce' | 'delete' | 'recover';
  readonly fields: Omit<CtlMsg, 'type'>;
  /** Foreign source address (transparent inbound: the real caller), else the gateway's client socket. */
  readonly from?: string;
  protocol: TalkProtocol;
  probing: boolean;
  tries: number;
  deadline: number;
}

export interface GatewaySessionsOptions {
  readonly config: GatewayConfig;
  readonly clock: Clock;
  /** Naming; the classical directory router by default. */
  readonly router?: CallRouter;
}

/** The pure session core shared by the gateway's modes. */
export class GatewaySessions {
  #config: GatewayConfig;
  #router: CallRouter;
  #rate: RateLimiter;
  #newCalls: NewCallRateLimiter;
  /** New calls refused by the global bound since the last aggregate log line, per side. */
  readonly #globalRefused: Record<Side, number> = { inside: 0, outside: 0 };
  /** When the current refusal window's summary is due (undefined: no refusals pending a summary). */
  #globalSummaryAt: number | undefined;
  /** Start of the current refusal window. */
  #globalWindowStart = 0;
  readonly #clock: Clock;
  /** Fair shares of the call table (issue 18); every live call holds one slot. */
  readonly #shares: CallTableShares;
  /** New calls refused a share, logged in aggregate. */
  readonly #shareRefusals = new RefusalSummary<ShareRefusal>(RATE_REFUSAL_SUMMARY_MS);
  readonly #calls = new Map<string, Call>();
  readonly #byCallerKey = new Map<string, string>();
  /** `${side}:${id}` → callId, for DELETE. */
  readonly #ids = new Map<string, string>();
  readonly #nextId: Record<Side, number> = { inside: 0, outside: 0 };
  readonly #inflight = new Map<string, Outstanding>();
  readonly #queues = new Map<string, Outstanding[]>();
  readonly #versions = new VersionCache();
  /** Callee LOOK_UPs of calls being rebuilt, by recovery key (bounded by MAX_PENDING_RECOVERIES). */
  readonly #recoveries = new Map<string, PendingRecovery>();
  /** Recovery key → the call id its daemon LOOK_UP runs under. */
  readonly #recoveryIds = new Map<string, string>();
  readonly #counters = new Map<string, number>();
  #seq = 0;
  #fx: Effect[] = [];

  constructor(opts: GatewaySessionsOptions) {
    this.#config = opts.config;
    this.#clock = opts.clock;
    this.#router = opts.router ?? new ClassicalRouter(opts.config);
    this.#rate = new RateLimiter({ clock: opts.clock, ratePerSecond: opts.config.limits.ratePerSecond, burst: opts.config.limits.burst, maxKeys: MAX_RATE_SOURCES });
    this.#newCalls = newCallLimiter(opts.config);
    this.#shares = new CallTableShares(shareLimits(opts.config));
    // Call ids continue from the start time (seconds), so a restarted gateway does not reuse the
    // ids of the calls it logged just before (the audit log's `run` field disambiguates the rest).
    this.#seq = Math.floor(opts.clock.wallNow() / 1000) % CALL_ID_SPACE;
  }

  /** Replaces policy, directory, hosts and limits (SIGHUP); live calls are kept. */
  reconfigure(config: GatewayConfig, router?: CallRouter): void {
    this.#config = config;
    this.#router = router ?? new ClassicalRouter(config);
    this.#rate = new RateLimiter({ clock: this.#clock, ratePerSecond: config.limits.ratePerSecond, burst: config.limits.burst, maxKeys: MAX_RATE_SOURCES });
    this.#newCalls = newCallLimiter(config);
    this.#shares.reconfigure(shareLimits(config));
  }

  /** Feeds one input; returns what the adapters must do, in order. */
  handle(input: SessionInput): Effect[] {
    this.#fx = [];
    switch (input.kind) {
      case 'request':
        this.#onRequest(input.ingress, input.request);
        break;
      case 'response':
        this.#onResponse(input.side, input.source, input.response, input.peer);
        break;
      case 'peerFailed':
        this.#onPeerFailed(input.callId, input.code, input.detail);
        break;
      case 'resolved':
        this.#onResolved(input.callId, input.address);
        break;
      case 'dataPathOpened':
        this.#onDataPathOpened(input.callId, input.result);
        break;
      case 'dataPathConnected': {
        const call = this.#calls.get(input.callId);
        if (call === undefined) break;
        this.#setState(call, 'connected');
        this.#shares.settle(call.id);
        delete call.deadline;
        this.#count('calls_connected');
        this.#audit('connected', call.id, { peer: input.peer, target: input.target });
        this.#log('info', call.id, 'data path connected', { peer: input.peer, target: input.target });
        break;
      }
      case 'dataPathAccepted': {
        // The callee's side answered through the data path (a chained gateway's relay connecting
        // here; its callee looked up the call there): the caller's DELETE that follows its
        // accept() must not end the call as a cancelled one.
        const call = this.#calls.get(input.callId);
        if (call !== undefined && (call.state === 'ringing' || call.state === 'announcing')) {
          this.#setState(call, 'answered');
          this.#log('info', call.id, 'callee side connected to the data path', { from: input.from });
        }
        break;
      }
      case 'dataPathRefused':
        this.#log('warn', input.callId, 'data path refused a connection', { from: input.from });
        break;
      case 'dataPathEnded': {
        const call = this.#calls.get(input.callId);
        if (call === undefined) break;
        this.#endCall(call, call.state === 'connected' ? 'conversation-ended' : 'data-path-ended', input.reason, { bytesIn: input.bytesIn, bytesOut: input.bytesOut, durationMs: input.durationMs }, false);
        break;
      }
      case 'endedByAdmin': {
        const call = this.#calls.get(input.callId);
        if (call !== undefined) this.#endCall(call, 'ended-by-admin', 'ended by an administrator', undefined, true, true, { endedBy: input.actor });
        break;
      }
      case 'tick':
        this.#onTick();
        break;
    }
    return this.#fx;
  }

  /** The earliest time (clock.now()) at which a `tick` has work to do, if any. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    const consider = (t: number | undefined): void => {
      if (t !== undefined && (next === undefined || t < next)) next = t;
    };
    for (const o of this.#inflight.values()) consider(o.deadline);
    for (const c of this.#calls.values()) consider(c.deadline);
    consider(this.#globalSummaryAt);
    consider(this.#shareRefusals.dueAt);
    return next;
  }

  status(): GatewayStatus {
    const calls: GatewayCallStatus[] = [];
    for (const c of this.#calls.values()) {
      calls.push({
        callId: c.id,
        direction: c.direction,
        caller: sanitizeText(`${c.callerUser}@${c.ingress.source.address}`),
        callee: sanitizeText(`${c.calleeUser}@${c.calleeHost}`),
        state: c.state,
        since: new Date(c.sinceWall).toISOString(),
        ...(c.dataPath !== undefined ? { relayPort: c.dataPath.port } : {}),
      });
    }
    return { mode: this.#config.mode, calls, counters: Object.fromEntries(this.#counters) };
  }

  get size(): number {
    return this.#calls.size;
  }

  // ---------------------------------------------------------------- client requests

  #onRequest(ingress: Ingress, req: AnyRequest): void {
    this.#count('requests');
    if (!this.#rate.allow(ingress.source.address)) {
      this.#count('dropped_rate');
      return;
    }
    if (ingress.peer === undefined && this.#peerAt(ingress.source.address) !== undefined) {
      // A configured peer speaks over its authenticated TLS link only: a datagram claiming its
      // address (forged, or a misconfigured peer) never reaches the call table.
      this.#count('dropped_peer_datagram');
      this.#log('warn', undefined, 'dropped a control datagram from a peer gateway address (peers speak over TLS only)', {
        code: 'peer-datagram',
        from: `${ingress.source.address}:${ingress.source.port}`,
      });
      return;
    }
    if (!this.#sourceBelongs(ingress)) {
      this.#count('dropped_spoof');
      this.#log('warn', undefined, 'dropped a request from an address not on its side', { side: ingress.side, from: ingress.source.address });
      return;
    }
    const m = req.msg;
    if (req.protocol === 'ntalk' && req.msg.version !== TALK_VERSION) {
      this.#reply(undefined, ingress, req, m.type, Answer.BADVERSION, 0);
      return;
    }
    if (!isPrintableName(m.lName) || (m.type !== RequestType.DELETE && !isPrintableName(m.rName))) {
      this.#reply(undefined, ingress, req, m.type, Answer.FAILED, 0);
      return;
    }
    switch (m.type) {
      case RequestType.LEAVE_INVITE:
        // Clients leave their invitation with their own daemon; one that reaches the gateway
        // (a daemon and the gateway on one address) is acknowledged and not kept.
        this.#reply(undefined, ingress, req, m.type, Answer.SUCCESS, this.#allocId(ingress.side, undefined));
        return;
      case RequestType.LOOK_UP:
        this.#onLookUp(ingress, req);
        return;
      case RequestType.ANNOUNCE:
        this.#onAnnounce(ingress, req);
        return;
      case RequestType.DELETE:
        this.#onDelete(ingress, req);
        return;
      default:
        this.#reply(undefined, ingress, req, m.type, Answer.UNKNOWN_REQUEST, 0);
    }
  }

  /** Inside-face requests must come from the inside networks; outside-face ones must not (loopback exempt). */
  #sourceBelongs(ingress: Ingress): boolean {
    const a = ingress.source.address;
    if (isLoopback(a)) return true;
    const inside = this.#config.inside.networks.some((n) => cidrContains(n, a));
    return ingress.side === 'inside' ? inside : !inside;
  }

  #isOnSide(side: Side, address: string): boolean {
    if (isLoopback(address)) return true;
    const inside = this.#config.inside.networks.some((n) => cidrContains(n, address));
    return side === 'inside' ? inside : !inside;
  }

  #onLookUp(ingress: Ingress, req: AnyRequest): void {
    const m = req.msg;
    for (const call of this.#calls.values()) {
      if (call.calleeSide !== ingress.side || call.dataPath === undefined) continue;
      // 'announcing': the callee's daemon rang (or the callee is calling back) before its answer to
      // our ANNOUNCE came back; refusing would make the callee's talk start a second call.
      if (call.state !== 'announcing' && call.state !== 'ringing' && call.state !== 'answered') continue;
      if (call.calleeUser !== m.lName || call.presentedCaller !== m.rName) continue;
      // An intercepted LOOK_UP (transparent mode) asks the caller's own daemon: only an intercepted
      // call from that very caller matches (a classical one is looked up on the gateway's face).
      const od = ingress.originalDestination;
      if (od !== undefined && (call.ingress.originalDestination === undefined || call.ingress.source.address !== od.address)) continue;
      if (call.calleeAddress !== ingress.source.address) {
        // Names alone would let anyone learn (and race for) the rendezvous: only the callee host may.
        this.#log('warn', call.id, 'LOOK_UP for a call from a host other than the callee', { from: ingress.source.address });
        continue;
      }
      if (call.lookupId === 0) call.lookupId = this.#allocId(ingress.side, call.id);
      call.touched = this.#clock.now();
      call.deadline = call.touched + CALL_IDLE_EXPIRY_MS;
      if (call.state === 'ringing' || call.state === 'announcing') this.#setState(call, 'answered');
      const addr: SockAddrIn = { family: AF_INET, address: call.dataPath.address, port: call.dataPath.port };
      this.#log('info', call.id, 'callee looked up the call', { from: ingress.source.address });
      this.#reply(call.id, ingress, req, m.type, Answer.SUCCESS, call.lookupId, addr);
      return;
    }
    // One node of an HA pair: a call rung through the other node is rebuilt from the daemons.
    if (this.#config.ha !== undefined && ingress.originalDestination === undefined && this.#recover(ingress, req)) return;
    this.#reply(undefined, ingress, req, m.type, Answer.NOT_HERE, 0);
  }

  /** Starts (or absorbs a resend of) the rebuild of a call for this LOOK_UP; false: nothing to rebuild. */
  #recover(ingress: Ingress, req: AnyRequest): boolean {
    const m = req.msg;
    const key = recoveryKey(ingress, m.lName, m.rName);
    if (this.#recoveries.has(key)) return true;
    if (this.#recoveries.size >= MAX_PENDING_RECOVERIES) return false;
    // The caller as the callee was told: routed back like an ANNOUNCE for that name from the callee's side.
    const route = this.#router.routeAnnounce({ side: ingress.side, protocol: req.protocol, source: ingress.source }, m.rName);
    if (!route.ok) return false;
    const callerAddress = this.#router.resolveStatic(route.calleeSide, route.host);
    if (callerAddress === undefined || callerAddress === 'ask' || !this.#isOnSide(route.calleeSide, callerAddress)) return false;
    const names = recoveryNames(this.#config, this.#router, ingress.side, m.lName, ingress.source.address);
    if (names.length === 0) return false;
    const now = this.#clock.now();
    if (!this.#newCalls.take(ingress.side, now)) return false;
    const r: PendingRecovery = { key, ingress, req, callerSide: route.calleeSide, callerUser: route.user, callerHost: route.host, callerAddress, names, next: 0 };
    this.#recoveries.set(key, r);
    const callId = this.#newCallId();
    this.#recoveryIds.set(key, callId);
    this.#log('info', callId, 'LOOK_UP for a call this node never saw: asking the caller\'s daemon', { callee: sanitizeText(m.lName), caller: sanitizeText(m.rName), daemon: callerAddress });
    this.#askCallerDaemon(r, callId);
    return true;
  }

  #askCallerDaemon(r: PendingRecovery, callId: string): void {
    const gw = r.callerSide === 'inside' ? this.#config.inside.address : this.#config.outside.address;
    const name = r.names[r.next++] ?? '';
    this.#enqueue({
      callId,
      side: r.callerSide,
      host: r.callerAddress,
      type: RequestType.LOOK_UP,
      purpose: 'recover',
      fields: {
        id: 0,
        // talkd checks addr's family before the type (see #forwardDelete).
        addr: { family: AF_INET, address: gw, port: 0 },
        ctlAddr: { family: AF_INET, address: gw, port: 0 },
        pid: Number(callId.slice(2)) | 0,
        lName: name,
        rName: r.callerUser,
        rTty: '',
      },
    });
  }

  /** The caller's daemon answered (or not) the rebuild's LOOK_UP. */
  #onRecoveryAnswer(callId: string, res: AnyResponse | undefined): void {
    const key = [...this.#recoveryIds].find(([, id]) => id === callId)?.[0];
    const r = key === undefined ? undefined : this.#recoveries.get(key);
    if (r === undefined || key === undefined) return;
    const m = r.req.msg;
    const done = (answer: number, why: string): void => {
      this.#recoveries.delete(key);
      this.#recoveryIds.delete(key);
      this.#log('info', callId, 'no call to rebuild', { why, answer: answerName(answer) });
      this.#reply(callId, r.ingress, r.req, m.type, answer, 0);
    };
    if (res === undefined) return done(Answer.NOT_HERE, "the caller's daemon did not answer");
    if (res.msg.answer !== Answer.SUCCESS) {
      if (r.next < r.names.length) return this.#askCallerDaemon(r, callId);
      return done(Answer.NOT_HERE, `the caller's daemon has no invitation (${answerName(res.msg.answer)})`);
    }
    const addr = res.msg.addr;
    // The data path will connect to addr: the caller's own host, never a third party (as for an ANNOUNCE).
    if (addr.family !== AF_INET || addr.address !== r.callerAddress || addr.port === 0) {
      return done(Answer.NOT_HERE, `the invitation's addr ${addr.address}:${addr.port} is not the caller's host`);
    }
    const callee = this.#calleeKey(r.ingress.side, m.lName, r.ingress.source.address);
    const refusal = this.#shares.admit({ side: r.callerSide, source: r.callerAddress, callee });
    if (refusal !== undefined) return done(Answer.FAILED, SHARE_REFUSAL_MESSAGES[refusal]);
    this.#recoveryIds.delete(key);
    const direction: Direction = r.callerSide === 'inside' ? 'outbound' : 'inbound';
    const ingress: Ingress = { side: r.callerSide, protocol: 'ntalk', source: { address: r.callerAddress, port: addr.port } };
    const call: Call = {
      id: callId,
      direction,
      callerSide: r.callerSide,
      calleeSide: r.ingress.side,
      callerKey: `recovered|${callId}`,
      ingress,
      callerProtocol: 'ntalk',
      callerOtalkOrder: 'big',
      callerUser: r.callerUser,
      requestedName: r.names[r.next - 1] ?? m.lName,
      callerAddr: { address: addr.address, port: addr.port },
      calleeUser: m.lName,
      calleeHost: r.ingress.source.address,
      presentedCaller: m.rName,
      state: 'resolving',
      sinceWall: this.#clock.wallNow(),
      touched: this.#clock.now(),
      clientId: 0,
      daemonId: 0,
      lookupId: 0,
      lastAnswer: Answer.SUCCESS,
      lastReannounceId: -1,
      reannouncing: false,
      announced: false,
      recovery: r,
    };
    this.#calls.set(callId, call);
    this.#shares.add(callId, { side: r.callerSide, source: r.callerAddress, callee });
    const auditBase = {
      direction,
      caller: { user: sanitizeText(r.callerUser), address: r.callerAddress, port: addr.port },
      requested: sanitizeText(call.requestedName),
      protocol: 'ntalk',
      rebuilt: true,
    };
    this.#count('calls_requested');
    this.#count('calls_rebuilt');
    this.#audit('requested', callId, auditBase);
    this.#log('info', callId, 'call rebuilt from the caller\'s daemon', auditBase);
    this.#onResolved(callId, r.ingress.source.address);
  }

  #onAnnounce(ingress: Ingress, req: AnyRequest): void {
    const m = req.msg;
    const key = `${ingress.side}|${ingress.source.address}|${ingress.source.port}|${m.lName}|${m.rName}|${m.pid}`;
    const existingId = this.#byCallerKey.get(key);
    const existing = existingId === undefined ? undefined : this.#calls.get(existingId);
    if (existing !== undefined) {
      this.#onRepeatedAnnounce(existing, ingress, req);
      return;
    }
    const now = this.#clock.now();
    // A new call: bounded per side whatever the source (spoofed sources each pass the per-source
    // limit). Refused silently, like a per-source refusal: no answer to a possibly forged source,
    // no call id, no audit line; a real client resends (CTL_WAIT) and gets through when the flood eases.
    if (!this.#newCalls.take(ingress.side, now)) {
      this.#refusedByGlobalRate(ingress.side, now);
      return;
    }
    // Fair shares (issue 18), before a call id, an audit line or a resolve is spent on it.
    const route = this.#router.routeAnnounce(ingress, m.rName);
    const callee = route.ok ? this.#calleeKey(route.calleeSide, route.user, route.host) : undefined;
    const sibling = callee === undefined ? undefined : this.#calls.get(this.#shares.pendingCall(ingress.source.address, callee) ?? '');
    if (sibling !== undefined) {
      this.#onSameCallerAnnounce(sibling, ingress, req);
      return;
    }
    const refusal = this.#shares.admit({ side: ingress.side, source: ingress.source.address, callee });
    if (refusal !== undefined) {
      this.#refusedByShare(refusal, ingress, req, now);
      return;
    }
    const direction: Direction = ingress.side === 'inside' ? 'outbound' : 'inbound';
    const callId = this.#newCallId();
    const auditBase = {
      direction,
      caller: { user: sanitizeText(m.lName), address: ingress.source.address, port: ingress.source.port },
      requested: sanitizeText(m.rName),
      protocol: req.protocol,
      ...(ingress.originalDestination !== undefined ? { intercepted: { ...ingress.originalDestination } } : {}),
      ...(ingress.peer !== undefined ? { peerGateway: { name: ingress.peer.name, ...(ingress.peer.callId !== undefined ? { callId: ingress.peer.callId } : {}) } } : {}),
    };
    this.#count('calls_requested');
    this.#audit('requested', callId, auditBase);
    this.#log('info', callId, 'call requested', auditBase);

    const refuse = (answer: number, code: CallReason, reason: string): void => {
      this.#count('calls_refused', code);
      this.#audit('refused', callId, { code, reason, answer: answerName(answer) });
      this.#log('info', callId, 'call refused', { code, reason, answer: answerName(answer) });
      this.#reply(callId, ingress, req, m.type, answer, 0);
    };
    if (m.addr.family !== AF_INET) return refuse(Answer.BADADDR, 'bad-addr', 'addr is not AF_INET');
    // The data path will connect to addr: it must be the caller's own host, never a third party.
    if (m.addr.address !== ingress.source.address || m.addr.port === 0) {
      return refuse(Answer.BADADDR, 'bad-addr', `addr ${m.addr.address}:${m.addr.port} is not the caller's host`);
    }
    if (!route.ok) return refuse(route.answer, route.code, route.reason);

    const call: Call = {
      id: callId,
      direction,
      callerSide: ingress.side,
      calleeSide: route.calleeSide,
      callerKey: key,
      ingress,
      callerProtocol: req.protocol,
      callerOtalkOrder: req.protocol === 'otalk' ? req.msg.byteOrder : 'big',
      callerUser: m.lName,
      requestedName: m.rName,
      callerAddr: { address: m.addr.address, port: m.addr.port },
      calleeUser: route.user,
      calleeHost: route.host,
      presentedCaller: '',
      state: 'resolving',
      sinceWall: this.#clock.wallNow(),
      touched: now,
      clientId: 0,
      daemonId: 0,
      lookupId: 0,
      lastAnswer: Answer.SUCCESS,
      lastReannounceId: -1,
      reannouncing: false,
      announced: false,
      ...(ingress.peer !== undefined ? { peerGateway: ingress.peer.name, ...(ingress.peer.callId !== undefined ? { peerCallId: ingress.peer.callId } : {}) } : {}),
    };
    this.#calls.set(callId, call);
    this.#shares.add(callId, { side: ingress.side, source: ingress.source.address, callee });
    this.#byCallerKey.set(key, callId);
    const resolved = this.#router.resolveStatic(route.calleeSide, route.host);
    if (resolved === undefined) {
      this.#failCall(call, Answer.MACHINE_UNKNOWN, 'unknown-host', `cannot resolve ${sanitizeText(route.host)} in the ${route.calleeSide} name context`, 'refused');
      return;
    }
    if (resolved === 'ask') {
      call.deadline = now + RESOLVE_TIMEOUT_MS;
      this.#fx.push({ kind: 'resolve', callId, side: route.calleeSide, name: route.host });
      return;
    }
    this.#onResolved(callId, resolved);
  }

  #onResolved(callId: string, address: string | null): void {
    const call = this.#calls.get(callId);
    if (call === undefined || call.state !== 'resolving') return;
    if (address === null) {
      this.#failCall(call, Answer.MACHINE_UNKNOWN, 'unknown-host', `cannot resolve ${sanitizeText(call.calleeHost)} in the ${call.calleeSide} name context`, 'refused');
      return;
    }
    if (!this.#isOnSide(call.calleeSide, address)) {
      this.#failCall(call, Answer.MACHINE_UNKNOWN, 'wrong-side', `${sanitizeText(call.calleeHost)} resolves to ${address}, not on the ${call.calleeSide}`, 'refused');
      return;
    }
    call.calleeAddress = address;
    const calleePeer = this.#peerAt(address);
    if (calleePeer !== undefined) call.peerGateway = calleePeer;
    const outbound = call.direction === 'outbound';
    const remoteAddress = outbound ? address : call.ingress.source.address;
    const remoteName = outbound ? call.calleeHost : this.#router.outsideNameOf(remoteAddress);
    const decision = evaluatePolicy(this.#config.policy, {
      direction: call.direction,
      insideUser: outbound ? call.callerUser : call.calleeUser,
      remoteAddress,
      ...(remoteName !== undefined ? { remoteName } : {}),
    });
    if (!decision.allow) {
      this.#failCall(call, Answer.PERMISSION_DENIED, decision.rule === null ? 'default-deny' : 'policy-denied', decision.reason, 'refused');
      return;
    }
    this.#setState(call, 'opening');
    delete call.deadline;
    const listenAddress = call.calleeSide === 'inside' ? this.#config.inside.address : this.#config.outside.address;
    const bindAddress = call.callerSide === 'inside' ? this.#config.inside.address : this.#config.outside.address;
    this.#fx.push({
      kind: 'openDataPath',
      request: {
        callId: call.id,
        listenSide: call.calleeSide,
        listenAddress,
        expectedPeer: address,
        target: call.callerAddr,
        bindAddress,
        acceptDeadlineMs: DATA_PATH_ACCEPT_DEADLINE_MS,
        ...(calleePeer !== undefined || call.ingress.peer !== undefined
          ? {
              peerTls: {
                ...(calleePeer !== undefined ? { listen: calleePeer } : {}),
                ...(call.ingress.peer !== undefined ? { connect: call.ingress.peer.name } : {}),
              },
            }
          : {}),
      },
    });
  }

  #onDataPathOpened(callId: string, result: { ok: true; address: string; port: number } | { ok: false; reason: string; detail: string }): void {
    const call = this.#calls.get(callId);
    if (call === undefined || call.state !== 'opening') {
      if (result.ok) this.#fx.push({ kind: 'closeDataPath', callId });
      return;
    }
    if (!result.ok) {
      this.#failCall(call, Answer.FAILED, 'no-data-path', `no data path: ${result.reason} ${sanitizeText(result.detail)}`, 'refused');
      return;
    }
    call.dataPath = { address: result.address, port: result.port };
    if (call.recovery !== undefined) {
      this.#answerRecovered(call, call.recovery);
      return;
    }
    this.#setState(call, 'announcing');
    this.#sendAnnounce(call, 'announce', IMPOSSIBLE_ID);
  }

  /** A rebuilt call's data path is open: the callee's waiting LOOK_UP gets it, as if the call had rung here. */
  #answerRecovered(call: Call, r: PendingRecovery): void {
    this.#recoveries.delete(r.key);
    delete call.recovery;
    call.announced = true; // its ANNOUNCE was answered before the gateway rebuilt it
    call.lookupId = this.#allocId(r.ingress.side, call.id);
    this.#setState(call, 'answered');
    call.touched = this.#clock.now();
    call.deadline = call.touched + CALL_IDLE_EXPIRY_MS;
    const dp = call.dataPath as Endpoint;
    this.#log('info', call.id, 'callee looked up the rebuilt call', { from: r.ingress.source.address });
    this.#reply(call.id, r.ingress, r.req, RequestType.LOOK_UP, Answer.SUCCESS, call.lookupId, { family: AF_INET, address: dp.address, port: dp.port });
  }

  #sendAnnounce(call: Call, purpose: 'announce' | 'reannounce', id: number): void {
    const side = call.calleeSide;
    const from = this.#spoofedSource(call);
    const gw = from ?? (side === 'inside' ? this.#config.inside.address : this.#config.outside.address);
    const dp = call.dataPath as Endpoint;
    this.#enqueue({
      callId: call.id,
      side,
      host: call.calleeAddress as string,
      type: RequestType.ANNOUNCE,
      purpose,
      ...(from !== undefined ? { from } : {}),
      fields: {
        id,
        addr: { family: AF_INET, address: dp.address, port: dp.port },
        // The gateway's client socket address is filled in by the adapter (ctl_addr port);
        // the address part is already the gateway's own on this side.
        ctlAddr: { family: AF_INET, address: gw, port: 0 },
        pid: this.#pidOf(call),
        lName: '',
        rName: call.calleeUser,
        rTty: '',
      },
    });
  }

  /**
   * Transparent inbound (an intercepted call toward the inside): requests to the callee's daemon
   * leave from the real outside caller's address, so its announcement names the real caller and
   * the callee answers it directly (that LOOK_UP is intercepted again). Toward the outside the
   * gateway always speaks from its own outside address.
   */
  #spoofedSource(call: Call): string | undefined {
    return call.ingress.originalDestination !== undefined && call.calleeSide === 'inside' ? call.ingress.source.address : undefined;
  }

  /** A stable per-call discriminator instead of the caller's pid (which would leak and may collide). */
  #pidOf(call: Call): number {
    return Number(call.id.slice(2)) | 0;
  }

  #onRepeatedAnnounce(call: Call, ingress: Ingress, req: AnyRequest): void {
    const m = req.msg;
    call.ingress = ingress;
    // Absorbed while the first ANNOUNCE is unanswered (resolving, opening, announcing, or answered by
    // a callee that looked the call up meanwhile) and while a re-announce is in flight.
    if (!call.announced || call.reannouncing) return;
    if (call.state === 'connected') {
      this.#reply(call.id, ingress, req, m.type, Answer.SUCCESS, call.clientId);
      return;
    }
    if ((m.id !== IMPOSSIBLE_ID && m.id <= call.clientId) || m.id === call.lastReannounceId) {
      // A duplicate (its answer was lost): answer again, ring nobody.
      this.#reply(call.id, ingress, req, m.type, call.lastAnswer, call.clientId);
      return;
    }
    call.touched = this.#clock.now();
    call.deadline = call.touched + CALL_IDLE_EXPIRY_MS;
    call.reannouncing = true;
    call.lastReannounceId = m.id;
    this.#log('debug', call.id, 're-announce', { id: m.id });
    this.#sendAnnounce(call, 'reannounce', (call.daemonId + 1) >>> 0);
  }

  #onDelete(ingress: Ingress, req: AnyRequest): void {
    const m = req.msg;
    const callId = this.#ids.get(`${ingress.side}:${m.id}`);
    const call = callId === undefined ? undefined : this.#calls.get(callId);
    if (call === undefined || ingress.source.address !== (call.callerSide === ingress.side ? call.ingress.source.address : call.calleeAddress)) {
      this.#reply(undefined, ingress, req, m.type, Answer.NOT_HERE, m.id);
      return;
    }
    this.#reply(call.id, ingress, req, m.type, Answer.SUCCESS, m.id);
    if (ingress.side === call.callerSide && m.id === call.clientId) {
      // The caller cleans up (accept() returned) or gives up: remove the ANNOUNCE entry at the callee's daemon.
      this.#forwardDelete(call);
      if (call.state === 'ringing' || call.state === 'announcing') this.#endCall(call, 'caller-cancelled', 'caller cancelled', undefined, true);
      else this.#log('info', call.id, 'caller deleted its invitation');
    } else if (ingress.side === call.calleeSide && m.id === call.lookupId) {
      if (call.state !== 'connected') this.#endCall(call, 'stale-invitation', 'callee reported a stale invitation', undefined, true);
    }
  }

  #forwardDelete(call: Call): void {
    if (call.daemonId === 0 || call.calleeAddress === undefined) return;
    const from = this.#spoofedSource(call);
    const gw = from ?? (call.calleeSide === 'inside' ? this.#config.inside.address : this.#config.outside.address);
    this.#enqueue({
      callId: call.id,
      side: call.calleeSide,
      host: call.calleeAddress,
      type: RequestType.DELETE,
      purpose: 'delete',
      ...(from !== undefined ? { from } : {}),
      fields: {
        id: call.daemonId,
        // talkd checks addr's family before the type (BSD/inetutils/netkit process.c: BADADDR when
        // not AF_INET), so a DELETE carries the same AF_INET addr its ANNOUNCE did, as a client's does.
        addr: deleteAddr(call.dataPath, gw),
        ctlAddr: { family: AF_INET, address: gw, port: 0 },
        pid: this.#pidOf(call),
        lName: '',
        rName: call.calleeUser,
        rTty: '',
      },
    });
  }

  // ---------------------------------------------------------------- the gateway as a client

  #hostKey(side: Side, host: string): string {
    return `${side}|${host}`;
  }

  #enqueue(o: Omit<Outstanding, 'protocol' | 'probing' | 'tries' | 'deadline'>): void {
    const out: Outstanding = { ...o, protocol: 'ntalk', probing: true, tries: 0, deadline: 0 };
    const hk = this.#hostKey(o.side, o.host);
    if (!this.#inflight.has(hk)) {
      this.#start(hk, out);
      return;
    }
    const q = this.#queues.get(hk) ?? [];
    if (q.length >= MAX_QUEUED_REQUESTS_PER_HOST) {
      this.#requestFailed(out, 'too many requests queued for the host');
      return;
    }
    q.push(out);
    this.#queues.set(hk, q);
  }

  #start(hk: string, o: Outstanding): void {
    const known = this.#versions.get(o.host, this.#clock.now());
    o.protocol = known ?? 'ntalk';
    o.probing = known === undefined;
    this.#inflight.set(hk, o);
    this.#transmit(o);
  }

  #transmit(o: Outstanding): void {
    const call = this.#calls.get(o.callId);
    o.tries += 1;
    o.deadline = this.#clock.now() + GATEWAY_CTL_WAIT_MS;
    const ports = o.side === 'inside' ? this.#config.inside.daemonPorts : this.#config.outside.daemonPorts;
    const limit = NAME_LIMIT[o.protocol];
    let lName = o.fields.lName;
    if (call !== undefined && o.type === RequestType.ANNOUNCE) {
      call.presentedCaller = this.#router.presentCaller({
        direction: call.direction,
        lName: call.callerUser,
        callerAddress: call.ingress.source.address,
        maxLen: limit,
        intercepted: call.ingress.originalDestination !== undefined,
      });
      lName = call.presentedCaller;
    } else if (call !== undefined) {
      lName = call.presentedCaller;
    }
    const fields: CtlMsg = { ...o.fields, type: o.type, lName: lName.slice(0, limit), rName: o.fields.rName.slice(0, limit) };
    const request: AnyRequest =
      o.protocol === 'ntalk' ? { protocol: 'ntalk', msg: { ...fields, version: TALK_VERSION } } : { protocol: 'otalk', msg: { ...fields, byteOrder: 'big' } };
    this.#fx.push({
      kind: 'request',
      callId: o.callId,
      side: o.side,
      to: { address: o.host, port: ports[o.protocol] },
      request,
      ...(o.from !== undefined ? { from: o.from } : {}),
    });
  }

  #release(hk: string): void {
    this.#inflight.delete(hk);
    const q = this.#queues.get(hk);
    const next = q?.shift();
    if (q !== undefined && q.length === 0) this.#queues.delete(hk);
    if (next !== undefined) this.#start(hk, next);
  }

  #onResponse(side: Side, source: Endpoint, res: AnyResponse, peer: PeerOrigin | undefined): void {
    this.#count('responses');
    if ((peer === undefined && this.#peerAt(source.address) !== undefined) || (peer !== undefined && this.#peerAt(source.address) !== peer.name)) {
      // A peer's answers come over its link only (a forged datagram from its address is ignored).
      this.#count('dropped_peer_datagram');
      this.#log('warn', undefined, 'dropped a control answer from a peer gateway address outside its TLS link', { code: 'peer-datagram', from: `${source.address}:${source.port}` });
      return;
    }
    const hk = this.#hostKey(side, source.address);
    const o = this.#inflight.get(hk);
    const ports = side === 'inside' ? this.#config.inside.daemonPorts : this.#config.outside.daemonPorts;
    if (o === undefined || res.protocol !== o.protocol || source.port !== ports[o.protocol] || res.msg.type !== o.type) {
      this.#count('dropped_unmatched_response');
      return;
    }
    this.#versions.set(o.host, o.protocol, this.#clock.now());
    this.#release(hk);
    if (o.purpose === 'recover') {
      this.#onRecoveryAnswer(o.callId, res);
      return;
    }
    if (o.purpose === 'delete') {
      // The callee's daemon removed its invitation (SUCCESS) or had none left (NOT_HERE); anything
      // else (BADADDR, ...) means the invitation lingers until it expires there.
      this.#log(res.msg.answer === Answer.SUCCESS ? 'info' : 'warn', o.callId, "callee's daemon answered the DELETE", { answer: answerName(res.msg.answer) });
      return;
    }
    const call = this.#calls.get(o.callId);
    if (call === undefined) return;
    call.calleeProtocol = o.protocol;
    let answer = res.msg.answer;
    if (o.purpose === 'announce') {
      if (call.announced) return;
      call.announced = true;
      // Still 'announcing' unless the callee looked the call up (or connected) before this answer.
      const early = call.state !== 'announcing';
      if (answer !== Answer.SUCCESS && !early) {
        this.#failCall(call, answer, calleeAnswerReason(answer), `callee's daemon answered ${answerName(answer)}`, 'ended');
        return;
      }
      if (peer?.callId !== undefined) call.peerCallId = peer.callId;
      if (answer !== Answer.SUCCESS) {
        // The callee is already on its way to the data path: the caller must keep waiting for it.
        this.#log('warn', call.id, "callee's daemon refused the ANNOUNCE after the callee had looked the call up", { answer: answerName(answer) });
        answer = Answer.SUCCESS;
      } else {
        call.daemonId = res.msg.id;
        if (!early) {
          this.#setState(call, 'ringing');
          call.touched = this.#clock.now();
          call.deadline = call.touched + CALL_IDLE_EXPIRY_MS;
        }
        this.#rung(call, o.protocol);
      }
    } else {
      call.reannouncing = false;
      if (answer === Answer.SUCCESS) call.daemonId = res.msg.id;
    }
    call.lastAnswer = answer;
    if (call.clientId !== 0) this.#ids.delete(`${call.callerSide}:${call.clientId}`);
    call.clientId = this.#allocId(call.callerSide, call.id);
    this.#replyToCaller(call, RequestType.ANNOUNCE, answer, call.clientId);
  }

  /** The callee's daemon accepted the call's ANNOUNCE: counted, audited ('rung') and logged. */
  #rung(call: Call, protocol: TalkProtocol): void {
    this.#count('calls_rung');
    this.#audit('rung', call.id, {
      callee: { user: sanitizeText(call.calleeUser), host: sanitizeText(call.calleeHost), address: call.calleeAddress },
      announcedAs: sanitizeText(call.presentedCaller),
      calleeProtocol: protocol,
      dataPath: call.dataPath,
      caller: { address: call.callerAddr.address, port: call.callerAddr.port },
      ...(call.peerGateway !== undefined ? { peerGateway: { name: call.peerGateway, ...(call.peerCallId !== undefined ? { callId: call.peerCallId } : {}) } } : {}),
    });
    this.#log('info', call.id, 'callee rung', { via: protocol, announcedAs: sanitizeText(call.presentedCaller) });
  }

  /** The peer link could not carry a request of `callId`: the call fails before anyone is rung. */
  #onPeerFailed(callId: string, code: 'peer-unauthenticated' | 'peer-unreachable', detail: string): void {
    for (const [hk, o] of [...this.#inflight]) {
      if (o.callId !== callId) continue;
      this.#release(hk);
      const call = this.#calls.get(callId);
      if (call === undefined) return;
      if (o.purpose === 'announce' && call.state === 'announcing') {
        this.#failCall(call, Answer.FAILED, code, `${CALL_REASONS[code]}: ${sanitizeText(detail)}`, 'refused');
      } else {
        this.#log('warn', callId, 'peer link failed', { code, detail: sanitizeText(detail) });
      }
      return;
    }
  }

  /** The configured peer gateway at `address`, by name. */
  #peerAt(address: string): string | undefined {
    return this.#config.peering?.peers.find((p) => p.address === address)?.name;
  }

  #requestFailed(o: Outstanding, reason: string): void {
    if (o.purpose === 'recover') {
      this.#onRecoveryAnswer(o.callId, undefined);
      return;
    }
    const call = this.#calls.get(o.callId);
    if (call === undefined) return;
    if (o.purpose === 'delete') {
      this.#log('debug', call.id, 'DELETE to the callee daemon unanswered', { reason });
      return;
    }
    if (o.purpose === 'reannounce') {
      call.reannouncing = false;
      this.#log('warn', call.id, 're-announce unanswered', { reason });
      return;
    }
    if (call.state !== 'announcing') {
      // The callee answered (looked the call up) although its daemon's answer never reached us.
      this.#log('warn', call.id, "callee's daemon did not answer the ANNOUNCE, but the callee looked the call up", { reason });
      return;
    }
    this.#failCall(call, Answer.FAILED, 'daemon-silent', `callee's daemon did not answer (${reason})`, 'refused');
  }

  // ---------------------------------------------------------------- timers

  #onTick(): void {
    const now = this.#clock.now();
    if (this.#globalSummaryAt !== undefined && now >= this.#globalSummaryAt) this.#summariseGlobalRefusals(now);
    this.#summariseShareRefusals(now);
    for (const [hk, o] of [...this.#inflight]) {
      if (o.deadline > now) continue;
      if (o.tries >= GATEWAY_CTL_TRIES) {
        this.#versions.forget(o.host);
        this.#release(hk);
        this.#requestFailed(o, `${o.tries} tries`);
        continue;
      }
      if (!o.probing && o.tries >= 2) {
        // The remembered version stopped answering: probe again.
        this.#versions.forget(o.host);
        o.probing = true;
      }
      if (o.probing) o.protocol = o.protocol === 'ntalk' ? 'otalk' : 'ntalk';
      this.#transmit(o);
    }
    for (const call of [...this.#calls.values()]) {
      if (call.deadline === undefined || call.deadline > now) continue;
      if (call.state === 'resolving') {
        this.#failCall(call, Answer.MACHINE_UNKNOWN, 'resolve-timeout', 'name resolution timed out', 'refused');
      } else if (call.state === 'ringing' || call.state === 'answered') {
        this.#endCall(call, 'invitation-expired', 'invitation expired', undefined, true);
      } else {
        delete call.deadline;
      }
    }
  }

  // ---------------------------------------------------------------- global new-call bound

  /** Counts one refusal; logs only when a refusal window opens (then once per window, on tick). */
  #refusedByGlobalRate(side: Side, now: number): void {
    this.#count('dropped_global_rate');
    this.#globalRefused[side] += 1;
    if (this.#globalSummaryAt !== undefined) return;
    this.#globalWindowStart = now;
    this.#globalSummaryAt = now + RATE_REFUSAL_SUMMARY_MS;
    this.#log('warn', undefined, 'global new-call rate limit reached: refusing new calls (summary follows)', {
      side,
      ratePerSecond: this.#config.limits.globalRatePerSecond,
      burst: this.#config.limits.globalBurst,
    });
  }

  #summariseGlobalRefusals(now: number): void {
    const { inside, outside } = this.#globalRefused;
    this.#globalRefused.inside = 0;
    this.#globalRefused.outside = 0;
    if (inside + outside === 0) {
      // A whole window without refusals: the episode is over.
      this.#globalSummaryAt = undefined;
      return;
    }
    this.#log('warn', undefined, 'new calls refused by the global rate limit', {
      refused: inside + outside,
      inside,
      outside,
      windowMs: now - this.#globalWindowStart,
    });
    // Keep a window open: refusals that go on are summarised again; a quiet window closes the episode.
    this.#globalWindowStart = now;
    this.#globalSummaryAt = now + RATE_REFUSAL_SUMMARY_MS;
  }

  // ---------------------------------------------------------------- fair shares

  /**
   * Who a call rings: the side, the user and the host as an address where the static naming knows
   * it (so `bob`, `bob%rc-out` and `bob%198.51.100.2` are one callee), else the host name.
   */
  #calleeKey(side: Side, user: string, host: string): string {
    const known = this.#router.resolveStatic(side, host);
    return `${side}|${user}|${known === undefined || known === 'ask' ? host.toLowerCase() : known}`;
  }

  /**
   * Another ANNOUNCE (other port, pid or names) from an address whose pending call already rings
   * this callee: a repeat of that call, not a new one. It is answered as a duplicate would be once
   * the call rings (silently before: the client resends), and nothing reaches the callee's daemon.
   */
  #onSameCallerAnnounce(call: Call, ingress: Ingress, req: AnyRequest): void {
    this.#count('announces_merged');
    this.#log('debug', call.id, 'ANNOUNCE for a callee this address already rings: treated as a repeat', { from: `${ingress.source.address}:${ingress.source.port}` });
    if (call.state === 'ringing' || call.state === 'answered') this.#reply(call.id, ingress, req, req.msg.type, call.lastAnswer, call.clientId);
  }

  /** Answers FAILED (no call id, no audit line) and counts; logs only when a refusal episode opens. */
  #refusedByShare(code: ShareRefusal, ingress: Ingress, req: AnyRequest, now: number): void {
    this.#count('calls_refused_share', code);
    this.#reply(undefined, ingress, req, req.msg.type, Answer.FAILED, 0);
    if (!this.#shareRefusals.record(code, now)) return;
    this.#log('warn', undefined, 'call table share reached: refusing new calls (summary follows)', {
      reason: code,
      message: SHARE_REFUSAL_MESSAGES[code],
      side: ingress.side,
      from: ingress.source.address,
    });
  }

  #summariseShareRefusals(now: number): void {
    const w = this.#shareRefusals.take(now);
    if (w === undefined) return;
    this.#log('warn', undefined, 'new calls refused by call table shares', { refused: w.total, byReason: w.counts, windowMs: w.windowMs });
  }

  // ---------------------------------------------------------------- helpers

  #failCall(call: Call, answer: number, code: CallReason, reason: string, event: 'refused' | 'ended'): void {
    const r = call.recovery;
    if (r !== undefined) {
      // A rebuilt call: its caller asked nothing of this node; the waiting callee gets the answer.
      this.#recoveries.delete(r.key);
      this.#reply(call.id, r.ingress, r.req, RequestType.LOOK_UP, answer, 0);
    } else this.#replyToCaller(call, RequestType.ANNOUNCE, answer, 0);
    if (event === 'refused') {
      this.#count('calls_refused', code);
      this.#audit('refused', call.id, { code, reason, answer: answerName(answer) });
      this.#log('info', call.id, 'call refused', { code, reason, answer: answerName(answer) });
      this.#endCall(call, code, reason, undefined, true, false);
    } else {
      this.#endCall(call, code, reason, undefined, true);
    }
  }

  #endCall(
    call: Call,
    code: CallReason,
    reason: string,
    bytes: { bytesIn: number; bytesOut: number; durationMs: number } | undefined,
    closeDataPath: boolean,
    audit = true,
    extra: Record<string, unknown> = {},
  ): void {
    this.#calls.delete(call.id);
    this.#shares.remove(call.id);
    if (call.recovery !== undefined) this.#recoveries.delete(call.recovery.key);
    if (this.#byCallerKey.get(call.callerKey) === call.id) this.#byCallerKey.delete(call.callerKey);
    if (call.clientId !== 0) this.#ids.delete(`${call.callerSide}:${call.clientId}`);
    if (call.lookupId !== 0) this.#ids.delete(`${call.calleeSide}:${call.lookupId}`);
    if (closeDataPath && call.dataPath !== undefined) this.#fx.push({ kind: 'closeDataPath', callId: call.id });
    if (!audit) return;
    this.#count('calls_ended');
    this.#audit('ended', call.id, { code, reason, lastState: call.state, ...(bytes ?? { bytesIn: 0, bytesOut: 0, durationMs: 0 }), ...extra });
    this.#log('info', call.id, 'call ended', { code, reason });
  }

  #replyToCaller(call: Call, type: number, answer: number, id: number): void {
    const req: AnyRequest =
      call.callerProtocol === 'ntalk'
        ? { protocol: 'ntalk', msg: stubMsg(type, { version: TALK_VERSION }) }
        : { protocol: 'otalk', msg: stubMsg(type, { byteOrder: call.callerOtalkOrder }) };
    this.#reply(call.id, call.ingress, req, type, answer, id);
  }

  /** Answers a client in its own protocol and byte order. addr is only ever set on a LOOK_UP SUCCESS. */
  #reply(callId: string | undefined, ingress: Ingress, req: AnyRequest, type: number, answer: number, id: number, addr: SockAddrIn = NO_ADDR): void {
    let response: AnyResponse;
    if (req.protocol === 'ntalk') {
      response = { protocol: 'ntalk', msg: { version: TALK_VERSION, type, answer, id, addr } };
    } else {
      const a = answer > OTALK_MAX_ANSWER ? Answer.FAILED : answer;
      response = { protocol: 'otalk', msg: { byteOrder: req.msg.byteOrder, layout: 'padded', type, answer: a, id, addr } };
    }
    this.#fx.push({ kind: 'reply', ...(callId !== undefined ? { callId } : {}), ingress, response });
    this.#log('debug', callId, 'reply', { to: `${ingress.source.address}:${ingress.source.port}`, type: requestTypeName(type), answer: answerName(answer), id });
  }

  /** Gateway-assigned ids per side, (n + 1) mod MAX_ID skipping 0 and ids in use, like a daemon's new_id(). */
  #allocId(side: Side, callId: string | undefined): number {
    for (let i = 0; i < MAX_ID; i++) {
      this.#nextId[side] = (this.#nextId[side] % (MAX_ID - 1)) + 1;
      const id = this.#nextId[side];
      if (!this.#ids.has(`${side}:${id}`)) {
        if (callId !== undefined) this.#ids.set(`${side}:${id}`, callId);
        return id;
      }
    }
    return this.#nextId[side];
  }

  #newCallId(): string {
    this.#seq = (this.#seq % CALL_ID_SPACE) + 1;
    return `c-${String(this.#seq).padStart(6, '0')}`;
  }

  #setState(call: Call, state: CallState): void {
    call.state = state;
    call.sinceWall = this.#clock.wallNow();
  }

  #audit(event: 'requested' | 'refused' | 'rung' | 'connected' | 'ended', callId: string, fields: Record<string, unknown>): void {
    this.#fx.push({ kind: 'audit', record: { event, callId, ...fields } });
  }

  #log(level: 'debug' | 'info' | 'warn', callId: string | undefined, msg: string, fields?: Record<string, unknown>): void {
    this.#fx.push({ kind: 'log', level, ...(callId !== undefined ? { callId } : {}), msg, ...(fields !== undefined ? { fields } : {}) });
  }

  #count(counter: SessionCounter, label?: string): void {
    this.#counters.set(counter, (this.#counters.get(counter) ?? 0) + 1);
    this.#fx.push({ kind: 'count', counter, ...(label !== undefined ? { label } : {}) });
  }
}

function newCallLimiter(config: GatewayConfig): NewCallRateLimiter {
  return new NewCallRateLimiter({ ratePerSecond: config.limits.globalRatePerSecond, burst: config.limits.globalBurst });
}

/** The addr of a forwarded DELETE: the call's data path (as in its ANNOUNCE), else the gateway's own address. */
function deleteAddr(dataPath: Endpoint | undefined, gateway: string): SockAddrIn {
  return dataPath !== undefined ? { family: AF_INET, address: dataPath.address, port: dataPath.port } : { family: AF_INET, address: gateway, port: 0 };
}

function shareLimits(config: GatewayConfig): ShareLimits {
  const l = config.limits;
  return {
    maxCalls: l.maxCalls,
    callsPerSource: l.callsPerSource,
    callsPerNetwork: l.callsPerNetwork,
    networkPrefix: l.networkPrefix,
    pendingPerCallee: l.pendingPerCallee,
    sideReserve: l.sideReserve,
  };
}

function stubMsg<T extends object>(type: number, extra: T): CtlMsg & T {
  return { type, id: 0, addr: NO_ADDR, ctlAddr: NO_ADDR, pid: 0, lName: '', rName: '', rTty: '', ...extra };
}

/** The reason code of a callee daemon's refusing answer to a forwarded ANNOUNCE. */
function calleeAnswerReason(answer: number): CallReason {
  if (answer === Answer.NOT_HERE) return 'callee-not-here';
  if (answer === Answer.PERMISSION_DENIED) return 'callee-refusing';
  return 'callee-failed';
}
