/**
 * Adapter: the middlebox's UDP server (PCP + NAT-PMP on the inside address only) driving
 * nftables through its {@link MiddleboxFirewall} (local, or the privileged process's). Requests are processed one at a time, so each answer reflects
 * a committed (or refused) nft transaction.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Clock } from '../shared/clock.js';
import type { HoleSpec } from '../firewall/nft-hole.js';
import { MiddleboxCore, type MiddleboxConfig, type PcpLogEntry } from './middlebox-core.js';
import type { MiddleboxFirewall } from './middlebox-firewall.js';
import { NATPMP_VERSION, PCP_ANNOUNCE_GROUP4, PCP_CLIENT_PORT, PCP_MAX_MESSAGE } from './pcp-constants.js';

/** Bound on datagrams waiting for the serial processor (beyond: dropped, counted). */
export const PCP_SERVER_QUEUE_MAX = 1024;

export interface PcpServerOptions {
  readonly listenAddress: string;
  readonly listenPort: number;
  readonly core: MiddleboxConfig;
  /** Our nftables state: local, or through the privileged process (src/pcp/privsep/). */
  readonly firewall: MiddleboxFirewall;
  /** An inherited, already bound socket to serve on (privilege separation). */
  readonly fd?: number;
  readonly clock: Clock;
  /** Structured lines: every line about a request carries the client, and the mapping id when there is one. */
  readonly log: PcpServerLog;
  /** Multicast an ANNOUNCE on start (RFC 6887 §14.1.3). */
  readonly announce: boolean;
}

/** The part of a pino logger the server writes to (the CLI passes one that sanitises). */
export interface PcpServerLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

export interface PcpServerStats {
  received: number;
  answered: number;
  dropped: number;
  nftFailures: number;
}

export class PcpServer {
  readonly core: MiddleboxCore;
  readonly stats: PcpServerStats = { received: 0, answered: 0, dropped: 0, nftFailures: 0 };
  readonly #o: PcpServerOptions;
  #socket: Socket | null = null;
  #queue: { msg: Buffer; address: string; port: number }[] = [];
  #busy = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(o: PcpServerOptions) {
    this.#o = o;
    this.core = new MiddleboxCore(o.core, o.clock);
  }

  /** Replaces our nftables state (nothing from a previous process survives) and restarts the epoch. */
  async replaceTable(): Promise<void> {
    await this.#o.firewall.replaceTable();
    this.core.resetState();
  }

  async start(): Promise<void> {
    await this.replaceTable();
    const sock = createSocket({ type: 'udp4', reuseAddr: false });
    this.#socket = sock;
    sock.on('message', (msg, rinfo) => {
      this.stats.received++;
      if (msg.length > PCP_MAX_MESSAGE + 4 || this.#queue.length >= PCP_SERVER_QUEUE_MAX) {
        this.stats.dropped++;
        return;
      }
      this.#queue.push({ msg, address: rinfo.address, port: rinfo.port });
      void this.#drain();
    });
    sock.on('error', (e) => this.#o.log.warn({ err: e.message }, 'socket error'));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      const bound = (): void => {
        sock.off('error', reject);
        resolve();
      };
      if (this.#o.fd !== undefined) sock.bind({ fd: this.#o.fd }, bound);
      else sock.bind(this.#o.listenPort, this.#o.listenAddress, bound);
    });
    this.#o.log.info({ listen: `${this.#o.listenAddress}:${this.#o.listenPort}` }, `listening on ${this.#o.listenAddress}:${this.#o.listenPort} (PCP + NAT-PMP), epoch restarted`);
    if (this.#o.announce) {
      try {
        sock.setMulticastInterface(this.#o.listenAddress);
        sock.send(this.core.announcement(), PCP_CLIENT_PORT, PCP_ANNOUNCE_GROUP4);
        this.#o.log.info({ to: `${PCP_ANNOUNCE_GROUP4}:${PCP_CLIENT_PORT}` }, 'ANNOUNCE sent');
      } catch (e) {
        this.#o.log.warn({ err: (e as Error).message }, 'ANNOUNCE failed');
      }
    }
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let item = this.#queue.shift(); item !== undefined && !this.#stopped; item = this.#queue.shift()) {
        await this.#handle(item.msg, item.address, item.port);
      }
    } finally {
      this.#busy = false;
    }
  }

  async #handle(msg: Buffer, address: string, port: number): Promise<void> {
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    let reply: Uint8Array | null = null;
    let log: PcpLogEntry = { msg: '' };
    try {
      // At most two passes: the second after a detected state loss (our table vanished), with
      // the table replaced and the epoch restarted, so the client sees the reset epoch.
      for (let pass = 0; pass < 2; pass++) {
        const action = bytes[0] === NATPMP_VERSION ? this.core.handleNatpmp(bytes, address) : this.core.handlePcp(bytes, address);
        if (action.kind === 'done') {
          reply = action.value;
          log = action.log;
          break;
        }
        const r = action.ops.length === 0 ? ({ ok: true } as const) : await this.#o.firewall.apply(action.ops);
        const now = this.#o.clock.now();
        if (r.ok) {
          reply = action.commit(now);
          log = action.log;
          break;
        }
        this.stats.nftFailures++;
        reply = action.fail(r.failure, now);
        log = action.log;
        this.#o.log.warn({ client: `${address}:${port}`, failure: r.failure, err: r.message.split('\n')[0] ?? '' }, 'nft failed');
        if (pass > 0 || r.failure !== 'no-such-element' || !(await this.#tableLost())) break;
        await this.#stateLost();
      }
    } catch (e) {
      // Typed decode errors are data; anything here is our bug: count, log, drop.
      this.stats.dropped++;
      this.#o.log.warn({ client: `${address}:${port}`, err: (e as Error).message }, 'request dropped');
      return;
    }
    const { msg: line, ...fields } = log;
    this.#o.log.info({ client: `${address}:${port}`, ...fields }, line);
    this.#schedule();
    if (reply === null) {
      this.stats.dropped++;
      return;
    }
    this.stats.answered++;
    this.#socket?.send(reply, port, address);
  }

  /** True when our table (not just one element) is gone. */
  #tableLost(): Promise<boolean> {
    return this.#o.firewall.tableLost();
  }

  /** Our table vanished under us: replace it, forget mappings, restart the epoch, announce. */
  async #stateLost(): Promise<void> {
    this.#o.log.warn({}, 'firewall state lost: replacing the table and restarting the epoch');
    try {
      await this.replaceTable();
      if (this.#o.announce) this.#socket?.send(this.core.announcement(), PCP_CLIENT_PORT, PCP_ANNOUNCE_GROUP4);
    } catch (e) {
      this.#o.log.warn({ err: (e as Error).message }, 'table replace failed');
    }
  }

  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const next = this.core.nextExpiry();
    if (next === null || this.#stopped) return;
    const delay = Math.max(0, Math.min(next - this.#o.clock.now(), 2 ** 31 - 1));
    this.#timer = setTimeout(() => void this.#expire(), delay + 5);
    this.#timer.unref();
  }

  async #expire(): Promise<void> {
    const holes: HoleSpec[] = this.core.expire();
    if (holes.length > 0) {
      const r = await this.#o.firewall.apply(holes.map((hole) => ({ kind: 'close' as const, hole })));
      // A hole's id begins with its mapping's id (middlebox-core.ts #hole).
      const mappingIds = holes.map((h) => h.id.split(' ')[0] ?? h.id);
      if (r.ok) this.#o.log.info({ mappingIds }, 'mappings expired');
      else this.#o.log.warn({ mappingIds, failure: r.failure }, 'mappings expired; nft close failed');
    }
    this.#schedule();
  }

  /** Stops answering and removes all of our rules. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const sock = this.#socket;
    this.#socket = null;
    if (sock !== null) await new Promise<void>((resolve) => sock.close(() => resolve()));
    const r = await this.#o.firewall.removeTable();
    if (r.ok) this.#o.log.info({}, 'rules removed');
    else this.#o.log.warn({ failure: r.failure, err: r.message.split('\n')[0] ?? '' }, 'rule removal failed');
  }
}
