/**
 * The intercepting ingress of transparent mode (reusable by the pinhole mode): installs the nft
 * interception (intercept-installer.ts) and opens one tproxy socket (native/transparent) that
 * receives every intercepted talk control datagram with its original destination. It only changes
 * how messages arrive and leave; the session core decides everything:
 *   - intercepted client requests → `onRequest` with `originalDestination` set;
 *   - replies to them → `reply()`, sent *from* the original destination (the client sees the answer
 *     come from the daemon it addressed);
 *   - requests the core wants sent from a foreign address (`from`: the real outside caller, toward
 *     an inside daemon) → `sendRequest()`, from `from`:tproxyPort; the daemon's answer heads to the
 *     caller, is intercepted by the "inbound replies" rule and comes back as `onResponse`.
 * Start order: socket first, then the rules (nothing is intercepted before someone listens); a
 * failed install closes the socket. Stop: socket closed, table and policy routing removed. A table
 * left by a kill -9 is replaced atomically by the next start.
 */
import { networkInterfaces } from 'node:os';
import type { GatewayConfig } from '../../config/gateway-config.js';
import { TalkError } from '../../shared/talk-error.js';
import { interceptSpec, type InterceptSpec } from '../../firewall/intercept/intercept-ruleset.js';
import { installIntercept, removeIntercept, type InterceptInstallerOptions, type RemoveReport } from '../../firewall/intercept/intercept-installer.js';
import { openTransparentUdp, type InterceptedDatagram, type SendRoute, type TransparentUdpSocket } from '../../native/transparent/index.js';
import type { InterceptionPlan } from '../modes/mode-wiring.js';
import {
  AF_INET,
  decodeAnyCtlMsg,
  decodeNtalkCtlResponse,
  decodeOtalkCtlResponse,
  encodeNtalkCtlMsg,
  encodeNtalkCtlResponse,
  encodeOtalkCtlMsg,
  encodeOtalkCtlResponse,
  NTALK_PORT,
  OTALK_PORT,
} from '../../protocol/index.js';
import type { AnyRequest, AnyResponse, Endpoint, Ingress, Side } from '../session/session-types.js';
import { classifyIntercepted, type InterceptContext } from './transparent-classify.js';

/** The `face` of intercepted ingresses (replies to them leave through this adapter). */
export const TRANSPARENT_FACE = 'transparent';
/** Largest datagram decoded as a control message (84 is the real maximum). */
const MAX_CONTROL_DATAGRAM = 512;

/** Sends one datagram from a foreign address (needs CAP_NET_ADMIN: the privileged side's job under privilege separation). */
export type ForeignSender = (bytes: Uint8Array, route: SendRoute) => void;

export interface TransparentIngressOptions {
  readonly config: GatewayConfig;
  readonly plan: InterceptionPlan;
  readonly installer?: InterceptInstallerOptions;
  /**
   * Privilege separation: the receiving socket the privileged process opened (adopted, and the
   * interception is neither installed nor removed here) and how to send from foreign addresses.
   */
  readonly privileged?: { readonly fd: number; readonly send: ForeignSender };
  readonly onRequest: (ingress: Ingress, request: AnyRequest) => void;
  readonly onResponse: (side: Side, source: Endpoint, response: AnyResponse) => void;
  /** A datagram dropped at the receive edge (malformed, not ours); `why` is adapter text. */
  readonly onDrop?: (why: string, source: Endpoint, originalDestination: Endpoint) => void;
  readonly onError?: (error: Error) => void;
}

/** The nft interception spec of a plan on this configuration's interfaces (pure). */
export function interceptionSpec(c: GatewayConfig, plan: InterceptionPlan): InterceptSpec {
  if (c.inside.interface === undefined || c.outside.interface === undefined) {
    throw new RangeError('transparent ingress: inside.interface and outside.interface are required');
  }
  return interceptSpec({
    insideInterface: c.inside.interface,
    outsideInterface: c.outside.interface,
    port: plan.port,
    ports: [OTALK_PORT, NTALK_PORT],
    inbound: plan.inbound,
    inboundReplies: plan.inbound,
    table: plan.table,
  });
}

export class TransparentIngress {
  readonly spec: InterceptSpec;
  readonly #opts: TransparentIngressOptions;
  readonly #ctx: InterceptContext;
  #sock: TransparentUdpSocket | undefined;
  /** How datagrams leave from foreign addresses (the socket itself, or the privileged side). */
  #send: ForeignSender = (bytes, route) => this.#sock?.sendFrom(bytes, route);
  #stopped: Promise<RemoveReport | undefined> | undefined;

  private constructor(opts: TransparentIngressOptions) {
    const c = opts.config;
    this.#opts = opts;
    this.spec = interceptionSpec(c, opts.plan);
    this.#ctx = {
      insideNetworks: c.inside.networks,
      gatewayAddresses: [c.inside.address, c.outside.address],
      interceptedPorts: this.spec.ports,
      tproxyPort: this.spec.port,
      insideDaemonPorts: c.inside.daemonPorts,
    };
  }

  /** Opens the tproxy socket and installs the interception. Throws TransparentSocketError / TalkError. */
  static async start(opts: TransparentIngressOptions): Promise<TransparentIngress> {
    const t = new TransparentIngress(opts);
    if (opts.privileged !== undefined) {
      t.#sock = openTransparentUdp({ port: t.spec.port, fd: opts.privileged.fd, onDatagram: (d) => t.#onDatagram(d), onError: (e) => opts.onError?.(e) });
      t.#send = opts.privileged.send;
      return t;
    }
    // A mistyped interface would make the rules match nothing, silently: refuse to start instead.
    const present = networkInterfaces();
    for (const [key, name] of [['inside.interface', t.spec.insideInterface], ['outside.interface', t.spec.outsideInterface]] as const) {
      if (present[name] === undefined) {
        throw new TalkError('INTERCEPT_INSTALL', `${key}: no interface ${JSON.stringify(name)} with an address on this host (have: ${Object.keys(present).join(', ')})`);
      }
    }
    t.#sock = openTransparentUdp({
      port: t.spec.port,
      onDatagram: (d) => t.#onDatagram(d),
      onError: (e) => opts.onError?.(e),
    });
    try {
      await installIntercept(t.spec, opts.installer);
    } catch (err: unknown) {
      await t.#sock.close();
      t.#sock = undefined;
      await removeIntercept(t.spec, opts.installer); // whatever part got installed (ip rule/route)
      throw err;
    }
    return t;
  }

  get port(): number {
    return this.spec.port;
  }

  stats(): ReturnType<TransparentUdpSocket['stats']> | undefined {
    return this.#sock?.stats();
  }

  /** Answers an intercepted request from the daemon address the client addressed. */
  reply(ingress: Ingress, response: AnyResponse): void {
    const from = ingress.originalDestination;
    if (from === undefined || this.#sock === undefined || this.#stopped !== undefined) return;
    const bytes = response.protocol === 'ntalk' ? encodeNtalkCtlResponse(response.msg) : encodeOtalkCtlResponse(response.msg);
    this.#send(bytes, { from, to: ingress.source });
  }

  /** Sends a request to a daemon from the foreign address `from` (ctl_addr = that source). */
  sendRequest(from: string, to: Endpoint, request: AnyRequest): void {
    if (this.#sock === undefined || this.#stopped !== undefined) return;
    const ctlAddr = { family: AF_INET, address: from, port: this.spec.port };
    const bytes = request.protocol === 'ntalk' ? encodeNtalkCtlMsg({ ...request.msg, ctlAddr }) : encodeOtalkCtlMsg({ ...request.msg, ctlAddr });
    this.#send(bytes, { from: { address: from, port: this.spec.port }, to });
  }

  /** Closes the socket and removes the interception (undefined: the privileged side owns it); idempotent. */
  stop(): Promise<RemoveReport | undefined> {
    if (this.#stopped !== undefined) return this.#stopped;
    this.#stopped = (async () => {
      await this.#sock?.close();
      // Under privilege separation the privileged side owns (and removes) the interception.
      if (this.#opts.privileged !== undefined) return undefined;
      return removeIntercept(this.spec, this.#opts.installer);
    })();
    return this.#stopped;
  }

  #onDatagram(d: InterceptedDatagram): void {
    if (this.#stopped !== undefined) return;
    const drop = (why: string): void => this.#opts.onDrop?.(why, d.source, d.originalDestination);
    if (d.truncated || d.data.length > MAX_CONTROL_DATAGRAM) return drop(`oversized datagram (${d.data.length} bytes read)`);
    const cls = classifyIntercepted(this.#ctx, d.source, d.originalDestination);
    const bytes = new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.length);
    try {
      if (cls.kind === 'drop') return drop(cls.reason);
      if (cls.kind === 'response') {
        const response: AnyResponse =
          cls.protocol === 'ntalk'
            ? { protocol: 'ntalk', msg: decodeNtalkCtlResponse(bytes) }
            : { protocol: 'otalk', msg: decodeOtalkCtlResponse(bytes, 'big') };
        this.#opts.onResponse(cls.side, d.source, response);
        return;
      }
      const request = decodeAnyCtlMsg(bytes);
      this.#opts.onRequest(
        { side: cls.side, protocol: request.protocol, source: d.source, originalDestination: d.originalDestination, face: TRANSPARENT_FACE },
        request,
      );
    } catch (err: unknown) {
      drop(`malformed: ${(err as Error).message}`);
    }
  }
}
