/**
 * PCP client library (adapter): RFC 6887 §8.1.1 retransmission (IRT 3 s doubling, bounded by a
 * retransmission count for CLI use) and §8.5 epoch checks that detect server state loss and
 * re-create the mappings this client holds.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { TalkError } from '../shared/talk-error.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { IPPROTO_TCP, PCP_CLI_MRC, PCP_EPOCH_SLACK_S, PCP_IRT_MS, PCP_MRT_MS, PCP_NONCE_SIZE, PCP_SERVER_PORT, PcpOpcode, PcpResult } from './pcp-constants.js';
import type { PcpFilter, PcpOptions } from './pcp-option.js';
import { encodePcpRequest, type PcpRequest } from './pcp-request.js';
import { decodePcpResponse, type PcpResponse } from './pcp-response.js';

export interface PcpClientOptions {
  readonly server: string;
  readonly port?: number;
  /** Initial retransmission time (RFC 6887 §8.1.1: 3 s). */
  readonly irtMs?: number;
  /** Maximum number of transmissions of one request (bounded for scripts). */
  readonly mrc?: number;
  readonly clock?: Clock;
  /** Local address to send from (the client-IP field follows it). */
  readonly localAddress?: string;
}

/** Bound on requests in flight on one client socket (one 'message' listener each). */
export const PCP_CLIENT_MAX_IN_FLIGHT = 256;

export interface MapParams {
  readonly protocol?: number;
  readonly internalPort: number;
  readonly suggestedPort?: number;
  readonly suggestedAddress?: string;
  readonly lifetime: number;
  readonly nonce?: Uint8Array;
  /** FILTER: only this peer (IPv4 /32), port 0 = any. */
  readonly filterPeer?: string;
  readonly filterPort?: number;
  readonly preferFailure?: boolean;
  readonly thirdParty?: string;
  readonly description?: string;
}

export interface MapResult {
  readonly result: number;
  readonly lifetime: number;
  readonly epoch: number;
  readonly externalAddress: string;
  readonly externalPort: number;
  readonly nonce: Uint8Array;
  readonly response: PcpResponse;
}

/**
 * Tracks the server epoch (RFC 6887 §8.5): returns true when the new epoch shows state loss
 * (epoch went backwards, or server and client elapsed times disagree by more than 2 s + 1/16).
 */
export class EpochTracker {
  #last: { server: number; clientMs: number } | null = null;
  observe(serverEpoch: number, clientMs: number): boolean {
    const prev = this.#last;
    this.#last = { server: serverEpoch, clientMs };
    if (prev === null) return false;
    if (serverEpoch + 1 < prev.server) return true;
    const client = (clientMs - prev.clientMs) / 1000;
    const server = serverEpoch - prev.server;
    return client + PCP_EPOCH_SLACK_S < server - server / 16 || server + PCP_EPOCH_SLACK_S < client - client / 16;
  }
}

export class PcpTimeoutError extends TalkError {
  constructor(server: string, tries: number) {
    super('PCP_TIMEOUT', `no PCP answer from ${server} after ${tries} transmissions`);
  }
}

export class PcpClient {
  readonly #o: Required<Omit<PcpClientOptions, 'clock' | 'localAddress'>> & { clock: Clock; localAddress?: string };
  readonly #epoch = new EpochTracker();
  /** Mappings we hold, keyed by protocol/internal port, re-created on state loss. */
  readonly #held = new Map<string, MapParams & { nonce: Uint8Array }>();
  #socket: Socket | null = null;
  #local = '0.0.0.0';
  /** Called after a state loss was detected and the held mappings were re-created. */
  onStateLoss: ((recreated: MapResult[]) => void) | null = null;

  constructor(o: PcpClientOptions) {
    this.#o = { port: PCP_SERVER_PORT, irtMs: PCP_IRT_MS, mrc: PCP_CLI_MRC, clock: systemClock, ...o };
  }

  async #open(): Promise<Socket> {
    if (this.#socket !== null) return this.#socket;
    const s = createSocket('udp4');
    s.setMaxListeners(PCP_CLIENT_MAX_IN_FLIGHT + 8);
    const local = this.#o.localAddress;
    if (local !== undefined) {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, local, () => {
          s.off('error', reject);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(this.#o.port, this.#o.server, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => undefined);
    this.#local = s.address().address;
    this.#socket = s;
    return s;
  }

  /** The address we put in the client-IP field (our source address towards the server). */
  get localAddress(): string {
    return this.#local;
  }

  close(): void {
    this.#socket?.close();
    this.#socket = null;
  }

  /** Sends one request with retransmission; resolves with the first matching response. */
  async send(build: (clientAddress: string) => PcpRequest): Promise<PcpResponse> {
    const s = await this.#open();
    if (s.listenerCount('message') >= PCP_CLIENT_MAX_IN_FLIGHT) throw new TalkError('PCP_BUSY', `more than ${PCP_CLIENT_MAX_IN_FLIGHT} PCP requests in flight`);
    const req = build(this.#local);
    const bytes = encodePcpRequest(req);
    const nonce = req.opcode === PcpOpcode.ANNOUNCE ? null : req.body.nonce;
    return new Promise<PcpResponse>((resolve, reject) => {
      let tries = 0;
      let timer: NodeJS.Timeout | null = null;
      let rt = 0;
      const irt = this.#o.irtMs;
      const finish = (): void => {
        if (timer !== null) clearTimeout(timer);
        s.off('message', onMessage);
      };
      const onMessage = (msg: Buffer): void => {
        let r: PcpResponse;
        try {
          r = decodePcpResponse(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
        } catch {
          return; // malformed: dropped at the receive edge
        }
        if (r.opcode !== req.opcode && r.result !== PcpResult.UNSUPP_VERSION) return;
        if (nonce !== null && r.body !== undefined && !sameBytes(r.body.nonce, nonce)) return;
        finish();
        resolve(r);
      };
      const transmit = (): void => {
        if (tries >= this.#o.mrc) {
          finish();
          reject(new PcpTimeoutError(this.#o.server, tries));
          return;
        }
        tries++;
        s.send(bytes);
        const next = rt === 0 ? { base: irt, delay: Math.round(irt * (1 + (Math.random() * 0.2 - 0.1))) } : nextRetransmission(rt, Math.random());
        rt = next.base;
        timer = setTimeout(transmit, next.delay);
      };
      s.on('message', onMessage);
      transmit();
    });
  }

  #checkEpoch(epoch: number): boolean {
    return this.#epoch.observe(epoch, this.#o.clock.now());
  }

  async announce(): Promise<PcpResponse> {
    const r = await this.send((clientAddress) => ({ opcode: PcpOpcode.ANNOUNCE, lifetime: 0, clientAddress, options: { preferFailure: false, filters: [] } }));
    await this.#afterResponse(r);
    return r;
  }

  async map(p: MapParams): Promise<MapResult> {
    const nonce = p.nonce ?? randomBytes(PCP_NONCE_SIZE);
    const filters: PcpFilter[] = p.filterPeer === undefined ? [] : [{ prefixLength: 128, remotePort: p.filterPort ?? 0, remoteAddress: p.filterPeer }];
    const options: PcpOptions = {
      preferFailure: p.preferFailure === true,
      filters,
      ...(p.thirdParty !== undefined ? { thirdParty: p.thirdParty } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
    };
    const r = await this.send((clientAddress) => ({
      opcode: PcpOpcode.MAP,
      lifetime: p.lifetime,
      clientAddress,
      body: {
        nonce,
        protocol: p.protocol ?? IPPROTO_TCP,
        internalPort: p.internalPort,
        externalPort: p.suggestedPort ?? 0,
        externalAddress: p.suggestedAddress ?? '::',
      },
      options,
    }));
    const key = `${p.thirdParty ?? ''}/${p.protocol ?? IPPROTO_TCP}/${p.internalPort}`;
    const lost = this.#checkEpoch(r.epoch);
    if (r.result === PcpResult.SUCCESS && p.lifetime > 0) this.#held.set(key, { ...p, nonce });
    if (p.lifetime === 0) this.#held.delete(key);
    const result: MapResult = {
      result: r.result,
      lifetime: r.lifetime,
      epoch: r.epoch,
      externalAddress: r.body?.externalAddress ?? '::',
      externalPort: r.body?.externalPort ?? 0,
      nonce,
      response: r,
    };
    if (lost) await this.#recreate(key);
    return result;
  }

  async #afterResponse(r: PcpResponse): Promise<void> {
    if (this.#checkEpoch(r.epoch)) await this.#recreate(null);
  }

  /** State loss: re-create every held mapping (except `skip`, just (re)created). */
  async #recreate(skip: string | null): Promise<void> {
    const out: MapResult[] = [];
    for (const [key, p] of [...this.#held]) {
      if (key === skip) continue;
      try {
        out.push(await this.map(p));
      } catch {
        // a timeout here is reported by the next call
      }
    }
    this.onStateLoss?.(out);
  }

  /** Deletes a mapping (lifetime 0 with its nonce). */
  delete(p: { protocol?: number; internalPort: number; nonce: Uint8Array; thirdParty?: string }): Promise<MapResult> {
    return this.map({ ...p, lifetime: 0 });
  }

  /** Mappings held (for renewal by the caller). */
  held(): (MapParams & { nonce: Uint8Array })[] {
    return [...this.#held.values()];
  }
}

/**
 * RFC 6887 §8.1.1: RT = (1 + RAND) * MIN(2 * RTprev, MRT), RAND uniform in [-0.1, +0.1].
 * `prevBase` is the previous un-jittered RT, `u` a uniform [0, 1) sample.
 */
export function nextRetransmission(prevBase: number, u: number, mrtMs = PCP_MRT_MS): { base: number; delay: number } {
  const base = Math.min(2 * prevBase, mrtMs);
  return { base, delay: Math.round(base * (1 + (u * 0.2 - 0.1))) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
