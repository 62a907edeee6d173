/**
 * Adapter: the gateway's pinhole-mode data path carried out by a REMOTE middlebox over PCP
 * (issue 7 §4, `[middlebox] pcp = "ADDR"`). The gateway is a MIDCOM agent: for each call it asks
 * the middlebox (RFC 6887 MAP + THIRD_PARTY on behalf of the inside party + FILTER = the one
 * expected peer) to open the hole, and reports the outcome to the session core BEFORE anyone is
 * rung: SUCCESS → `{ ok, address, port }` (the middlebox's external address and port, which the
 * core puts into the relayed invitation); anything else → `{ ok: false }` and the call is refused.
 *
 * Same shape as the session core's other data paths (openDataPath / closeDataPath effects,
 * session-types.ts DataPathRequest). Bounded: at most `maxHoles` holes, each with the lifetime
 * `ceil(acceptDeadlineMs / 1000)` (an established flow outlives its hole through conntrack), and
 * deleted with its nonce when the call ends. Inbound-to-inside calls (the inside party connects
 * out) need no hole: the middlebox forwards inside → outside, so the caller's address is used as is.
 */
import type { DataPathOpenResult, DataPathRequest } from '../session/session-types.js';
import type { DataPath } from '../modes/data-path.js';
import { sanitizeText } from '../../shared/sanitize.js';
import { PcpClient, PcpTimeoutError, type MapResult } from '../../pcp/pcp-client.js';
import { IPPROTO_TCP, PCP_IRT_MS, PCP_SERVER_PORT, PcpResult, pcpResultName } from '../../pcp/pcp-constants.js';

/** Default bound on simultaneously open PCP holes (one per call). */
export const PCP_DATA_PATH_MAX_HOLES = 256;
/**
 * Transmissions of one MAP before the call is refused: IRT 3 s doubling (RFC 6887 §8.1.1) gives
 * 3 + 6 + 12 s, inside talk's 30 s ring interval.
 */
export const PCP_DATA_PATH_MRC = 3;

export interface PcpDataPathEvents {
  /** The hole's lifetime ran out (the middlebox drops it; established flows live on in conntrack). */
  onEnded(callId: string, info: { bytesIn: number; bytesOut: number; durationMs: number; reason: string }): void;
}

export interface PcpDataPathOptions {
  /** The PCP client towards the middlebox (its server address = `[middlebox] pcp`). */
  readonly client: PcpClient;
  readonly maxHoles?: number;
  /** Log sink; every line carries the call id. */
  readonly log?: (callId: string, line: string) => void;
  readonly events?: PcpDataPathEvents;
}

interface Hole {
  readonly subject: string;
  readonly internalPort: number;
  readonly nonce: Uint8Array;
  readonly openedAt: number;
  readonly timer: NodeJS.Timeout;
}

export class PcpDataPath implements DataPath {
  readonly kind = 'pcp';
  readonly #client: PcpClient;
  readonly #max: number;
  readonly #log: (callId: string, line: string) => void;
  /** callId → the mapping (or 'pending' while the MAP is in flight). */
  readonly #holes = new Map<string, Hole | 'pending'>();
  /** Calls closed while their MAP was in flight: deleted as soon as the answer arrives. */
  readonly #closedEarly = new Set<string>();
  readonly #events: PcpDataPathEvents | undefined;
  #stopped = false;

  constructor(o: PcpDataPathOptions) {
    this.#client = o.client;
    this.#max = o.maxHoles ?? PCP_DATA_PATH_MAX_HOLES;
    this.#log = o.log ?? (() => undefined);
    this.#events = o.events;
  }

  /** Checks the middlebox answers (ANNOUNCE) and records its epoch; a silent one is only logged. */
  async start(): Promise<void> {
    try {
      const r = await this.#client.announce();
      this.#log('-', `middlebox answers: ${pcpResultName(r.result)}, epoch ${r.epoch}`);
    } catch (e) {
      this.#log('-', `middlebox does not answer yet (calls will be refused until it does): ${(e as Error).message}`);
    }
  }

  /** Deletes every hole and closes the client. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.closeAll();
    this.#client.close();
  }

  /** A mapping's lifetime is the accept deadline asked at open; a re-announce does not extend it. */
  renew(): void {}

  /** Number of holes held (or being opened). */
  get size(): number {
    return this.#holes.size;
  }

  /** openDataPath: SUCCESS from the middlebox or a refusal, never a ring without a hole. */
  async open(req: DataPathRequest): Promise<DataPathOpenResult> {
    if (this.#stopped) return { ok: false, reason: 'stopped', detail: 'gateway stopping' };
    if (req.listenSide === 'inside') {
      // The inside callee connects out to the outside caller: forwarded by the middlebox.
      this.#log(req.callId, `no hole needed (inside party connects out to ${req.target.address}:${req.target.port})`);
      return { ok: true, address: req.target.address, port: req.target.port };
    }
    if (this.#holes.has(req.callId)) return { ok: false, reason: 'error', detail: `call ${req.callId} already has a hole` };
    if (this.#holes.size >= this.#max) return { ok: false, reason: 'limit', detail: `${this.#max} PCP holes open` };
    this.#holes.set(req.callId, 'pending');
    const lifetime = Math.max(1, Math.ceil(req.acceptDeadlineMs / 1000));
    let r: MapResult;
    try {
      r = await this.#client.map({
        protocol: IPPROTO_TCP,
        internalPort: req.target.port,
        suggestedPort: req.target.port,
        lifetime,
        thirdParty: req.target.address,
        filterPeer: req.expectedPeer,
        filterPort: 0,
        description: `talkgate ${req.callId}`.slice(0, 64),
      });
    } catch (e) {
      this.#holes.delete(req.callId);
      this.#closedEarly.delete(req.callId);
      const detail = e instanceof PcpTimeoutError ? e.message : `PCP error: ${(e as Error).message}`;
      this.#log(req.callId, `PCP MAP failed: ${detail}`);
      return { ok: false, reason: 'error', detail };
    }
    if (r.result !== PcpResult.SUCCESS) {
      this.#holes.delete(req.callId);
      this.#closedEarly.delete(req.callId);
      this.#log(req.callId, `middlebox refused the hole: ${pcpResultName(r.result)}`);
      return { ok: false, reason: 'refused', detail: `PCP ${pcpResultName(r.result)}` };
    }
    const timer = setTimeout(() => this.#expired(req.callId), r.lifetime * 1000);
    timer.unref();
    const hole: Hole = { subject: req.target.address, internalPort: req.target.port, nonce: r.nonce, openedAt: Date.now(), timer };
    if (this.#closedEarly.delete(req.callId) || this.#stopped) {
      this.#holes.delete(req.callId);
      clearTimeout(timer);
      await this.#delete(req.callId, hole);
      return { ok: false, reason: 'error', detail: 'call closed while the hole was being opened' };
    }
    this.#holes.set(req.callId, hole);
    this.#log(req.callId, `hole ${r.externalAddress}:${r.externalPort} -> ${hole.subject}:${hole.internalPort} for ${req.expectedPeer} (${r.lifetime} s)`);
    return { ok: true, address: r.externalAddress, port: r.externalPort };
  }

  /** closeDataPath: deletes the call's mapping (lifetime 0 with its nonce); resolves when answered. */
  close(callId: string): void {
    void this.closeMapping(callId);
  }

  /** Deletes the call's mapping; resolves when the middlebox answered. */
  closeMapping(callId: string): Promise<void> {
    const h = this.#holes.get(callId);
    if (h === undefined) return Promise.resolve();
    if (h === 'pending') {
      this.#closedEarly.add(callId);
      return Promise.resolve();
    }
    this.#holes.delete(callId);
    clearTimeout(h.timer);
    return this.#delete(callId, h);
  }

  /** Deletes every hole (gateway shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#holes.keys()].map((id) => this.closeMapping(id)));
  }

  #expired(callId: string): void {
    const h = this.#holes.get(callId);
    if (h === undefined || h === 'pending') return;
    this.#holes.delete(callId);
    this.#log(callId, 'hole lifetime over (the middlebox removed it)');
    this.#events?.onEnded(callId, { bytesIn: 0, bytesOut: 0, durationMs: Date.now() - h.openedAt, reason: 'pcp-hole-expired' });
  }

  async #delete(callId: string, h: Hole): Promise<void> {
    try {
      const r = await this.#client.delete({ protocol: IPPROTO_TCP, internalPort: h.internalPort, nonce: h.nonce, thirdParty: h.subject });
      this.#log(callId, `hole deleted: ${pcpResultName(r.result)}`);
    } catch (e) {
      // The hole's short lifetime bounds it anyway.
      this.#log(callId, `hole delete failed (expires by itself): ${(e as Error).message}`);
    }
  }
}

/** The logger part the factory uses (pino-compatible). */
export interface PcpDataPathLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * `[middlebox] pcp = "ADDR"` (port `[middlebox] port`, default 5351): the pinhole mode's data path
 * over PCP, sending from the gateway's inside address (the middlebox lists it in `third_party`).
 */
export function createPcpDataPath(o: {
  readonly server: string;
  readonly port?: number;
  readonly localAddress?: string;
  readonly maxHoles: number;
  readonly logger: PcpDataPathLogger;
  readonly events: PcpDataPathEvents;
}): PcpDataPath {
  const client = new PcpClient({
    server: o.server,
    port: o.port ?? PCP_SERVER_PORT,
    irtMs: PCP_IRT_MS,
    mrc: PCP_DATA_PATH_MRC,
    ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
  });
  return new PcpDataPath({
    client,
    maxHoles: o.maxHoles,
    events: o.events,
    log: (callId, line) => {
      const msg = `pcp: ${sanitizeText(line)}`;
      if (/fail|refused|does not answer/.test(line)) o.logger.warn({ callId, middlebox: o.server }, msg);
      else o.logger.info({ callId, middlebox: o.server }, msg);
    },
  });
}
