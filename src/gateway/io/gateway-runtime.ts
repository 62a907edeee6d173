/**
 * The gateway's I/O adapter, the same for every mode: binds (or, under privilege separation,
 * adopts from the privileged process) the control faces (ntalk/otalk on the inside and the outside
 * address) and the gateway's own client sockets, plus the mode's interception when it has one;
 * decodes datagrams at the receive edge, feeds the pure {@link GatewaySessions} core and carries out
 * its effects with the mode's {@link DataPath}, the resolver, the audit log, the logger and the
 * metrics. What differs between modes is chosen once, in src/gateway/modes/.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import type { GatewayConfig } from '../../config/gateway-config.js';
import {
  decodeAnyCtlMsg,
  decodeNtalkCtlResponse,
  decodeOtalkCtlResponse,
  encodeNtalkCtlMsg,
  encodeNtalkCtlResponse,
  encodeOtalkCtlMsg,
  encodeOtalkCtlResponse,
  requestTypeName,
  AF_INET,
  RequestType,
} from '../../protocol/index.js';
import { sanitizeText } from '../../shared/sanitize.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../observability/logger.js';
import { createGatewayMetrics, type GatewayMetrics } from '../../observability/metrics.js';
import { DeferredLog } from '../../observability/deferred-log.js';
import { AuditLog } from '../audit/audit-log.js';
import { startAdminServer, type AdminServer } from '../admin/admin-server.js';
import { RecentRefusals } from '../admin/recent-refusals.js';
import type { RelayLogger } from '../relay/relay-manager.js';
import { GatewaySessions } from '../session/gateway-sessions.js';
import { callOutcome } from '../session/call-reason.js';
import { RESOLVE_TIMEOUT_MS } from '../session/session-constants.js';
import type { AnyRequest, Effect, SessionInput, Side, TalkProtocol } from '../session/session-types.js';
import type { CallDataPath, GatewayStatus } from '../gateway-status.js';
import { TransparentIngress, type ForeignSender } from './transparent-ingress.js';
import type { DataPath, DataPathEvents } from '../modes/data-path.js';
import { modeWiring } from '../modes/gateway-modes.js';
import type { DataPathContext } from '../modes/mode-wiring.js';
import { TalkError } from '../../shared/talk-error.js';
import { relayDataPath } from '../modes/classical-mode.js';
import { PeerLinks, type PeerTlsMaterial } from '../peering/peer-links.js';

const SIDES: readonly Side[] = ['inside', 'outside'];
/** talk.h ANNOUNCE: the request type whose sending renews a call's pinhole. */
const ANNOUNCE_TYPE = RequestType.ANNOUNCE;
const PROTOCOLS: readonly TalkProtocol[] = ['ntalk', 'otalk'];
/** Largest datagram read as a control message (bigger ones are malformed anyway; 84 is the max). */
const MAX_CONTROL_DATAGRAM = 512;
/**
 * Receive buffer asked for each control socket: room for a burst of ~1 s of a 10,000 datagram/s
 * flood (issue 4) so a legitimate request queued behind it is not dropped by the kernel
 * (capped by net.core.rmem_max).
 */
const CONTROL_RECV_BUFFER_BYTES = 4 * 1024 * 1024;

/** A control socket's place: its side and protocol. */
export type FaceKey = `${Side}/${TalkProtocol}`;
type Key = FaceKey;

/**
 * Sockets opened by the privileged process and inherited by this (unprivileged) worker, as fds;
 * see src/gateway/privsep/. Absent when the runtime binds its own sockets (one process).
 */
export interface InheritedSockets {
  readonly faces: Readonly<Record<FaceKey, number>>;
  readonly clients: Readonly<Record<FaceKey, number>>;
  readonly admin?: number;
  /** The receiving tproxy socket of the mode's interception. */
  readonly intercept?: number;
}

/** What the privileged process does for this worker. */
export interface PrivilegedServices {
  /** Local nftables holes (pinhole mode). */
  readonly holes?: DataPath;
  /** Sending from foreign addresses (interception). */
  readonly sendFrom: ForeignSender;
}

export interface GatewayRuntimeOptions {
  readonly config: GatewayConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Metrics registry (a fresh one by default). */
  readonly registry?: Registry;
  readonly inherited?: InheritedSockets;
  readonly privileged?: PrivilegedServices;
  /**
   * The admin listener's TLS certificate and key, read by the privileged process (the key is
   * usually root's alone); absent: read from the configured files.
   */
  readonly adminTls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /**
   * This gateway's peering certificate, key and CA (issue 15), read by the privileged process
   * (the key is usually root's alone); absent: read from the configured files.
   */
  readonly peeringTls?: PeerTlsMaterial;
  /** Replaces the mode's data path (a new data path is one factory; tests use this). */
  readonly dataPath?: (config: GatewayConfig, ctx: DataPathContext) => DataPath;
}

export class GatewayRuntime {
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Per-message log lines (core and relay), written after the turn's datagrams are sent. */
  readonly #deferred: DeferredLog;
  readonly #registry: Registry;
  readonly #metrics: GatewayMetrics;
  readonly #core: GatewaySessions;
  readonly #opts: GatewayRuntimeOptions;
  /** What the data path reports into the core (a data path living elsewhere reports here too). */
  readonly dataPathEvents: DataPathEvents;
  /** The mode's data path (relay, local holes, holes over PCP, ...). */
  readonly #dataPath: DataPath;
  /**
   * A peered call's conversation crosses the gateway over TLS, so it is relayed whatever the mode:
   * in a mode whose data path is not the relay (pinhole), this relay carries the peered calls.
   */
  readonly #peerRelay: DataPath | undefined;
  readonly #peerRelayed = new Set<string>();
  /** The TLS links to the configured peer gateways (issue 15). */
  #peers: PeerLinks | undefined;
  /** Recent refusals for the admin page (bounded; fed by the audit records). */
  readonly #refusals = new RecentRefusals();
  /** Calls whose relay bytes the metrics already counted as they flowed. */
  readonly #liveCountedCalls = new Set<string>();
  readonly #faces = new Map<Key, dgram.Socket>();
  readonly #clients = new Map<Key, dgram.Socket>();
  readonly #callMeta = new Map<string, { direction: string; started: number }>();
  #config: GatewayConfig;
  #audit: AuditLog | undefined;
  #admin: AdminServer | undefined;
  /** The mode's intercepting ingress, if any (the faces stay bound beside it). */
  #transparent: TransparentIngress | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The deadline #timer is armed for. */
  #timerAt: number | undefined;
  #stopped = false;

  private constructor(opts: GatewayRuntimeOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.#clock = opts.clock;
    this.#log = opts.logger;
    this.#deferred = new DeferredLog(opts.logger);
    this.#registry = opts.registry ?? new Registry();
    this.#metrics = createGatewayMetrics(this.#registry);
    this.#core = new GatewaySessions({ config: opts.config, clock: opts.clock });
    const events: DataPathEvents = (this.dataPathEvents = {
      onConnected: (callId, info) => this.#feed({ kind: 'dataPathConnected', callId, peer: info.peer, target: info.target }),
      onEnded: (callId, info) => this.#feed({ kind: 'dataPathEnded', callId, ...info }),
      onRefusedConnection: (callId, from) => this.#feed({ kind: 'dataPathRefused', callId, from }),
      onAccepted: (callId, from) => this.#feed({ kind: 'dataPathAccepted', callId, from }),
      // Relay bytes are counted while the call is live (issue 13), not only when it ends.
      onBytes: (callId, direction, bytes) => {
        this.#liveCountedCalls.add(callId);
        this.#metrics.relayBytesTotal.inc({ direction }, bytes);
      },
    });
    const ctx: DataPathContext = {
      clock: opts.clock,
      logger: opts.logger,
      relayLogger: this.#deferred.facade() satisfies RelayLogger,
      events,
      ...(opts.privileged?.holes !== undefined ? { privilegedHoles: opts.privileged.holes } : {}),
      ...(opts.config.peering !== undefined ? { peerTls: (name: string) => this.#peers?.tlsLeg(name) } : {}),
    };
    this.#dataPath = (opts.dataPath ?? modeWiring(opts.config).dataPath)(opts.config, ctx);
    this.#peerRelay = opts.config.peering !== undefined && this.#dataPath.kind !== 'relay' ? relayDataPath(opts.config, ctx) : undefined;
  }

  /** Binds every socket (faces, client sockets, admin) and opens the audit log. */
  static async start(opts: GatewayRuntimeOptions): Promise<GatewayRuntime> {
    const rt = new GatewayRuntime(opts);
    try {
      await rt.#bind();
    } catch (err: unknown) {
      await rt.stop();
      throw err;
    }
    return rt;
  }

  get config(): GatewayConfig {
    return this.#config;
  }

  /** Local addresses of the control faces (for tests and the start-up line). */
  faces(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, s] of this.#faces) {
      const a = s.address();
      out[k] = `${a.address}:${a.port}`;
    }
    if (this.#transparent !== undefined) out['transparent'] = `tproxy :${this.#transparent.port} table ip ${this.#transparent.spec.table}`;
    return out;
  }

  /** The core's calls with what only the data path knows: its kind and port, and the live bytes. */
  status(): GatewayStatus {
    const s = this.#core.status();
    const c = this.#config;
    const kind = this.#dataPath.kind;
    return {
      ...s,
      calls: s.calls.map((call) => {
        const bytes = this.#dataPath.bytes?.(call.callId);
        const port = call.relayPort;
        const dataPath: CallDataPath | undefined =
          port === undefined
            ? undefined
            : kind === 'relay'
              ? { kind: 'relay', port }
              : kind === 'pcp' && c.mode === 'pinhole' && c.middlebox !== undefined
                ? { kind: 'pcp', server: c.middlebox.pcp, externalPort: port }
                : { kind: 'hole', port };
        // The relay counts from the callee's connection (in) and from the caller's (out).
        const inside = bytes === undefined ? undefined : call.direction === 'outbound' ? bytes.bytesOut : bytes.bytesIn;
        const outside = bytes === undefined ? undefined : call.direction === 'outbound' ? bytes.bytesIn : bytes.bytesOut;
        return {
          ...call,
          ...(dataPath !== undefined ? { dataPath } : {}),
          ...(inside !== undefined && outside !== undefined ? { bytesIn: inside, bytesOut: outside } : {}),
        };
      }),
    };
  }

  /** The kind of the running data path ("relay", "nft-holes", "pcp", ...). */
  dataPathKind(): string {
    return this.#dataPath.kind;
  }

  /**
   * Reopens the audit log by its path (SIGHUP after logrotate moved it): records written before
   * are flushed to the old file, every later one goes to the new file; none is lost.
   */
  reopenAudit(): void {
    const c = this.#config;
    if (this.#audit === undefined || c.audit === undefined) return;
    const next = this.#openAudit(c.audit.file);
    const old = this.#audit;
    this.#audit = next;
    try {
      old.close();
    } catch (err: unknown) {
      this.#log.error({ file: c.audit.file, err: sanitizeText(String(err)) }, 'closing the rotated audit log failed');
    }
  }

  #openAudit(file: string): AuditLog {
    return AuditLog.open(file, {
      clock: this.#clock,
      run: `${new Date(this.#clock.wallNow()).toISOString()}/${process.pid}`,
      onSyncError: (err) => this.#log.error({ file, err: sanitizeText(String(err.code ?? err.message)) }, 'audit log fsync failed'),
    });
  }

  adminAddress(): { address: string; port: number } | undefined {
    return this.#admin?.address;
  }

  /**
   * Applies a reloaded configuration (SIGHUP): policy, directory, hosts and limits take effect at
   * once; live calls are kept. Addresses, ports, relay range, audit and admin need a restart.
   */
  reload(next: GatewayConfig): string[] {
    const warnings: string[] = [];
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    const c = this.#config;
    if (c.inside.address !== next.inside.address || c.outside.address !== next.outside.address || !same(c.ports, next.ports)) {
      warnings.push('addresses/ports changed: restart the gateway to apply them');
    }
    if (!same(c.relay.ports, next.relay.ports)) warnings.push('relay.ports changed: restart the gateway to apply it');
    const section = (g: GatewayConfig): unknown => ('transparent' in g ? g.transparent : undefined);
    const holes = (g: GatewayConfig): unknown => ('pinhole' in g ? g.pinhole : undefined);
    if (c.mode !== next.mode || !same(section(c), section(next)) || !same(holes(c), holes(next)) || c.inside.interface !== next.inside.interface || c.outside.interface !== next.outside.interface) {
      warnings.push('mode/interfaces/transparent/pinhole changed: restart the gateway to apply them');
    }
    if (!same(c.audit, next.audit) || !same(c.admin, next.admin)) warnings.push('audit/admin changed: restart the gateway to apply them');
    if (!same(c.peering, next.peering)) warnings.push('peering changed: restart the gateway to apply it');
    this.#config = next;
    this.#core.reconfigure(next);
    return warnings;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#dataPath.stop();
    await this.#peerRelay?.stop();
    await this.#peers?.close();
    if (this.#transparent !== undefined) {
      const report = await this.#transparent.stop();
      if (report !== undefined) this.#log[report.table.ok ? 'info' : 'error']({ table: this.#transparent.spec.table, report }, 'interception removed');
    }
    for (const s of [...this.#faces.values(), ...this.#clients.values()]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    await this.#admin?.close();
    this.#audit?.close();
    this.#deferred.flush();
  }

  async #bind(): Promise<void> {
    const c = this.#config;
    if (c.audit !== undefined) this.#audit = this.#openAudit(c.audit.file);
    // Before any face listens: nothing a previous process opened survives (table replaced atomically).
    await this.#dataPath.start();
    const inherited = this.#opts.inherited;
    for (const side of SIDES) {
      const address = side === 'inside' ? c.inside.address : c.outside.address;
      for (const protocol of PROTOCOLS) {
        const key: Key = `${side}/${protocol}`;
        const face = await bindUdp(address, c.ports[protocol], inherited?.faces[key]);
        face.on('message', (buf, rinfo) => this.#onFaceDatagram(side, key, buf, rinfo));
        this.#faces.set(key, face);
        // The gateway's own client socket: an ephemeral port (Debian talkd drops sources < 1024).
        const client = await bindUdp(address, 0, inherited?.clients[key]);
        client.on('message', (buf, rinfo) => this.#onClientDatagram(side, protocol, buf, rinfo));
        this.#clients.set(key, client);
      }
    }
    if (c.peering !== undefined) await this.#startPeering(c.peering, c.outside.address);
    const plan = modeWiring(c).interception(c);
    if (plan !== undefined) {
      const privileged = this.#opts.privileged;
      if (privileged !== undefined && inherited?.intercept === undefined) throw new TalkError('PRIVSEP_SOCKET', 'privilege separation: no interception socket inherited');
      this.#transparent = await TransparentIngress.start({
        config: c,
        plan,
        ...(privileged !== undefined && inherited?.intercept !== undefined ? { privileged: { fd: inherited.intercept, send: privileged.sendFrom } } : {}),
        onRequest: (ingress, request) => {
          this.#metrics.controlMessagesTotal.inc({ side: ingress.side, type: requestTypeName(request.msg.type) });
          this.#feed({ kind: 'request', ingress, request });
        },
        onResponse: (side, source, response) => {
          this.#metrics.controlMessagesTotal.inc({ side, type: 'response' });
          this.#feed({ kind: 'response', side, source, response });
        },
        onDrop: (why, source, to) => {
          this.#metrics.controlMalformedTotal.inc();
          this.#log.debug({ from: `${source.address}:${source.port}`, to: `${to.address}:${to.port}`, why: sanitizeText(why) }, 'intercepted datagram dropped');
        },
        onError: (err) => this.#log.warn({ err: sanitizeText(err.message) }, 'transparent socket error'),
      });
    }
    if (c.admin !== undefined) {
      this.#admin = await startAdminServer({
        listen: `${c.admin.host}:${c.admin.port}`,
        ...(inherited?.admin !== undefined ? { fd: inherited.admin } : {}),
        ...(c.admin.hosts !== undefined ? { hosts: c.admin.hosts } : {}),
        ...(c.admin.token !== undefined ? { token: c.admin.token } : {}),
        ...(c.admin.tls !== undefined ? { tls: this.#opts.adminTls ?? { cert: readFileSync(c.admin.tls.certFile), key: readFileSync(c.admin.tls.keyFile) } } : {}),
        actions: {
          endCall: (callId, actor) => {
            if (!this.#core.status().calls.some((x) => x.callId === callId)) return Promise.resolve({ code: 'unknown-call' });
            this.#feed({ kind: 'endedByAdmin', callId, actor });
            return Promise.resolve({ code: 'ended' });
          },
        },
        status: () => ({ ...this.status(), refusals: this.#refusals.list() }),
        registry: this.#registry,
      });
    }
  }

  async #startPeering(peering: NonNullable<GatewayConfig['peering']>, localAddress: string): Promise<void> {
    const material = this.#opts.peeringTls ?? { cert: readFileSync(peering.certFile, 'utf8'), key: readFileSync(peering.keyFile, 'utf8'), ca: readFileSync(peering.caFile, 'utf8') };
    const daemonPort = (protocol: TalkProtocol): number => this.#config.outside.daemonPorts[protocol];
    this.#peers = await PeerLinks.start({
      peering,
      localAddress,
      tls: material,
      logger: this.#log,
      onRequest: (peer, linkId, remotePort, frame) => {
        if (this.#stopped) return;
        let request: AnyRequest;
        try {
          request = decodeAnyCtlMsg(frame.msg);
        } catch (err: unknown) {
          this.#metrics.controlMalformedTotal.inc();
          this.#log.debug({ peer: peer.name, err: sanitizeText((err as Error).message) }, 'malformed control message on a peer link dropped');
          return;
        }
        if (request.protocol !== frame.protocol) return;
        this.#metrics.controlMessagesTotal.inc({ side: 'outside', type: requestTypeName(request.msg.type) });
        this.#feed({
          kind: 'request',
          ingress: { side: 'outside', protocol: request.protocol, source: { address: peer.address, port: remotePort }, face: linkId, peer: { name: peer.name, callId: frame.callId } },
          request,
        });
      },
      onResponse: (peer, frame) => {
        if (this.#stopped) return;
        let input: SessionInput;
        const source = { address: peer.address, port: daemonPort(frame.protocol) };
        const origin = { name: peer.name, ...(frame.callId !== undefined ? { callId: frame.callId } : {}) };
        try {
          input =
            frame.protocol === 'ntalk'
              ? { kind: 'response', side: 'outside', source, response: { protocol: 'ntalk', msg: decodeNtalkCtlResponse(frame.msg) }, peer: origin }
              : { kind: 'response', side: 'outside', source, response: { protocol: 'otalk', msg: decodeOtalkCtlResponse(frame.msg, 'big') }, peer: origin };
        } catch (err: unknown) {
          this.#metrics.controlMalformedTotal.inc();
          this.#log.debug({ peer: peer.name, err: sanitizeText((err as Error).message) }, 'malformed control answer on a peer link dropped');
          return;
        }
        this.#metrics.controlMessagesTotal.inc({ side: 'outside', type: 'response' });
        this.#feed(input);
      },
      onFailed: (peer, callId, failure, detail) => {
        const code = failure === 'peer-unreachable' ? 'peer-unreachable' : 'peer-unauthenticated';
        this.#feed({ kind: 'peerFailed', callId, code, detail: `${peer.name}: ${failure} ${detail}` });
      },
      onRefused: (code) => this.#metrics.policyRefusalsTotal.inc({ reason: code }),
    });
  }

  // ---------------------------------------------------------------- receive edge

  #onFaceDatagram(side: Side, face: Key, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#stopped) return;
    let request: AnyRequest;
    try {
      if (buf.length > MAX_CONTROL_DATAGRAM) throw new Error(`${buf.length}-byte datagram`);
      request = decodeAnyCtlMsg(new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
    } catch (err: unknown) {
      this.#metrics.controlMalformedTotal.inc();
      this.#log.debug({ side, from: `${rinfo.address}:${rinfo.port}`, err: sanitizeText((err as Error).message) }, 'malformed control datagram dropped');
      return;
    }
    this.#metrics.controlMessagesTotal.inc({ side, type: requestTypeName(request.msg.type) });
    this.#feed({ kind: 'request', ingress: { side, protocol: request.protocol, source: { address: rinfo.address, port: rinfo.port }, face }, request });
  }

  #onClientDatagram(side: Side, protocol: TalkProtocol, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#stopped) return;
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    let input: SessionInput;
    try {
      input =
        protocol === 'ntalk'
          ? { kind: 'response', side, source: { address: rinfo.address, port: rinfo.port }, response: { protocol, msg: decodeNtalkCtlResponse(bytes) } }
          : { kind: 'response', side, source: { address: rinfo.address, port: rinfo.port }, response: { protocol, msg: decodeOtalkCtlResponse(bytes, 'big') } };
    } catch (err: unknown) {
      this.#metrics.controlMalformedTotal.inc();
      this.#log.debug({ side, from: `${rinfo.address}:${rinfo.port}`, err: sanitizeText((err as Error).message) }, 'malformed control response dropped');
      return;
    }
    this.#metrics.controlMessagesTotal.inc({ side, type: 'response' });
    this.#feed(input);
  }

  // ---------------------------------------------------------------- effects

  #feed(input: SessionInput): void {
    if (this.#stopped) return;
    const effects = this.#core.handle(input);
    // In the core's order: an audit record is written before the forwarding that follows its event
    // (see AuditLog for what "written" means; its fsync is a delayed group commit). Log lines are only
    // queued here and written DEFERRED_LOG_FLUSH_MS later (DeferredLog), so neither delays a forwarded message.
    for (const e of effects) this.#runSafely(e);
    this.#metrics.callsActive.set(this.#core.size);
    // An input the core only counted (rate-limited, unmatched, a DELETE's answer) added no earlier
    // deadline (at most it removed one: the armed timer then fires a tick that finds nothing to do):
    // skip the O(calls) nextDeadline() scan, so a flood costs O(1) per datagram. A tick always re-arms.
    if (input.kind === 'tick' || effects.some((e) => e.kind !== 'count')) this.#schedule();
  }

  #runSafely(e: Effect): void {
    try {
      this.#run(e);
    } catch (err: unknown) {
      this.#log.error({ effect: e.kind, err: sanitizeText(String(err)) }, 'effect failed');
    }
  }

  #schedule(): void {
    const next = this.#core.nextDeadline();
    // Unchanged deadline (e.g. a datagram dropped by the rate limit): keep the armed timer.
    if (this.#timer !== undefined && next === this.#timerAt && !this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = next;
    if (next === undefined || this.#stopped) return;
    const delay = Math.max(0, Math.ceil(next - this.#clock.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#feed({ kind: 'tick' });
    }, delay);
    this.#timer.unref();
  }

  #run(e: Effect): void {
    switch (e.kind) {
      case 'reply': {
        if (e.ingress.originalDestination !== undefined) {
          this.#transparent?.reply(e.ingress, e.response);
          return;
        }
        const bytes = e.response.protocol === 'ntalk' ? encodeNtalkCtlResponse(e.response.msg) : encodeOtalkCtlResponse(e.response.msg);
        if (e.ingress.peer !== undefined) {
          // Over the peer's link, with our call id for its records.
          this.#peers?.reply(e.ingress.face ?? '', e.response.protocol, e.callId, bytes);
          return;
        }
        const face = this.#faces.get((e.ingress.face as Key | undefined) ?? `${e.ingress.side}/${e.ingress.protocol}`);
        face?.send(bytes, e.ingress.source.port, e.ingress.source.address);
        return;
      }
      case 'request': {
        // An (re-)announce renews the call's unused pinhole, as it renews the callee's invitation.
        if (e.request.msg.type === ANNOUNCE_TYPE) this.#dataPath.renew(e.callId);
        if (e.from !== undefined) {
          this.#transparent?.sendRequest(e.from, e.to, e.request);
          return;
        }
        const peer = e.side === 'outside' ? this.#peers?.peerByAddress(e.to.address) : undefined;
        if (peer !== undefined) {
          // To a peer gateway: over the authenticated link, never as a datagram.
          const ctlAddr = { family: AF_INET, address: this.#config.outside.address, port: 0 };
          const bytes = e.request.protocol === 'ntalk' ? encodeNtalkCtlMsg({ ...e.request.msg, ctlAddr }) : encodeOtalkCtlMsg({ ...e.request.msg, ctlAddr });
          this.#peers?.request(peer, e.callId, e.request.protocol, bytes);
          return;
        }
        const sock = this.#clients.get(`${e.side}/${e.request.protocol}`);
        if (sock === undefined) return;
        const local = sock.address();
        const ctlAddr = { family: AF_INET, address: local.address, port: local.port };
        const bytes =
          e.request.protocol === 'ntalk'
            ? encodeNtalkCtlMsg({ ...e.request.msg, ctlAddr })
            : encodeOtalkCtlMsg({ ...e.request.msg, ctlAddr });
        sock.send(bytes, e.to.port, e.to.address);
        return;
      }
      case 'resolve': {
        const { callId, name } = e;
        const timeout = new Promise<null>((r) => setTimeout(() => r(null), RESOLVE_TIMEOUT_MS).unref());
        const query = lookup(name, { family: 4 }).then((r) => r.address, () => null);
        void Promise.race([query, timeout]).then((address) => this.#feed({ kind: 'resolved', callId, address }));
        return;
      }
      case 'openDataPath': {
        const r = e.request;
        const path = r.peerTls !== undefined && this.#peerRelay !== undefined ? this.#peerRelay : this.#dataPath;
        if (path === this.#peerRelay) this.#peerRelayed.add(r.callId);
        // The result (and so the announcement) follows the opened path (e.g. the committed nft transaction).
        void path.open(r).then(
          (result) => this.#feed({ kind: 'dataPathOpened', callId: r.callId, result }),
          (err: unknown) => this.#feed({ kind: 'dataPathOpened', callId: r.callId, result: { ok: false, reason: 'error', detail: String(err) } }),
        );
        return;
      }
      case 'closeDataPath':
        if (this.#peerRelayed.delete(e.callId)) this.#peerRelay?.close(e.callId);
        else this.#dataPath.close(e.callId);
        return;
      case 'audit':
        this.#onAudit(e.record);
        return;
      case 'log': {
        const fields = { ...(e.callId !== undefined ? { callId: e.callId } : {}), ...e.fields };
        this.#deferred.write(e.level, fields, e.msg);
        return;
      }
      case 'count':
        if (e.counter === 'dropped_rate') this.#metrics.policyRefusalsTotal.inc({ reason: 'rate-limit' });
        else if (e.counter === 'dropped_global_rate') this.#metrics.policyRefusalsTotal.inc({ reason: 'global-rate-limit' });
        return;
    }
  }

  #onAudit(record: { readonly event: string; readonly callId: string; readonly [k: string]: unknown }): void {
    this.#refusals.observe(record, new Date().toISOString());
    try {
      this.#audit?.record(record as Parameters<AuditLog['record']>[0]);
    } catch (err: unknown) {
      this.#log.error({ callId: record.callId, err: sanitizeText(String(err)) }, 'audit write failed');
    }
    const meta = this.#callMeta.get(record.callId);
    switch (record.event) {
      case 'refused':
      case 'ended':
        this.#peerRelayed.delete(record.callId);
        break;
      default:
        break;
    }
    switch (record.event) {
      case 'requested':
        this.#callMeta.set(record.callId, { direction: String(record['direction']), started: this.#clock.now() });
        return;
      case 'refused': {
        // The typed reason (call-reason.ts) is the label: a closed set, never peer text.
        const code = typeof record['code'] === 'string' ? record['code'] : 'refused';
        this.#metrics.policyRefusalsTotal.inc({ reason: code });
        this.#metrics.callsTotal.inc({ direction: meta?.direction ?? 'unknown', outcome: callOutcome(code) });
        this.#callMeta.delete(record.callId);
        return;
      }
      case 'connected':
        if (meta !== undefined) this.#metrics.setupSeconds.observe((this.#clock.now() - meta.started) / 1000);
        return;
      case 'ended': {
        const bytesIn = Number(record['bytesIn'] ?? 0);
        const bytesOut = Number(record['bytesOut'] ?? 0);
        if (!this.#liveCountedCalls.delete(record.callId)) {
          if (bytesIn > 0) this.#metrics.relayBytesTotal.inc({ direction: 'in' }, bytesIn);
          if (bytesOut > 0) this.#metrics.relayBytesTotal.inc({ direction: 'out' }, bytesOut);
        }
        this.#metrics.callsTotal.inc({ direction: meta?.direction ?? 'unknown', outcome: callOutcome(typeof record['code'] === 'string' ? record['code'] : '') });
        this.#callMeta.delete(record.callId);
        return;
      }
      default:
        return;
    }
  }
}


/** Binds `address:port`, or adopts the inherited, already bound socket `fd`. */
async function bindUdp(address: string, port: number, fd?: number): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4' });
  const failed = once(s, 'error').then(([err]) => {
    throw err;
  });
  // Registered before bind(): adopting an fd emits 'listening' synchronously.
  const listening = once(s, 'listening');
  if (fd !== undefined) s.bind({ fd });
  else s.bind(port, address);
  await Promise.race([listening, failed]);
  s.removeAllListeners('error');
  try {
    s.setRecvBufferSize(CONTROL_RECV_BUFFER_BYTES);
  } catch {
    // best effort: the kernel default still works, only bursts suffer
  }
  s.on('error', () => {
    // ICMP errors on unconnected sockets surface here on some kernels; nothing to do.
  });
  return s;
}
