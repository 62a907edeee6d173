/**
 * Per-call TCP relays of the classical gateway (issue 4): allocates listener ports from a bounded
 * range, caps the number of relays, and owns every RelayCall. All sockets live in this process
 * (nothing is delegated to children), so a killed gateway leaves no relay port listening.
 */
import type { Clock } from '../../shared/clock.js';
import { RelayCall } from './relay-call.js';
import type { RelayByteCounts, RelayEvents, RelayLogger, RelayOpenRequest, RelayOpenResult } from './relay-types.js';

export type { RelayByteCounts, RelayEndInfo, RelayEvents, RelayLogger, RelayOpenRequest, RelayOpenResult } from './relay-types.js';

export interface RelayManagerOptions {
  /** Inclusive port range for relay listeners. */
  portRange: { min: number; max: number };
  /** Most relays (listening or relaying) at once. */
  maxRelays: number;
  clock: Clock;
  events: RelayEvents;
  logger: RelayLogger;
}

export class RelayManager {
  readonly #o: RelayManagerOptions;
  readonly #calls = new Map<string, RelayCall>();
  /** Ports with an open (or opening) listener of ours. */
  readonly #busyPorts = new Set<number>();
  /**
   * Round-robin cursor: a port is reused only after the rest of the range has been tried, so a
   * stray late connection to a just-used port is unlikely to meet another call's listener.
   */
  #cursor: number;
  #pending = 0;

  constructor(opts: RelayManagerOptions) {
    const { min, max } = opts.portRange;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new RangeError(`Invalid relay port range: ${min}-${max}`);
    }
    if (!Number.isInteger(opts.maxRelays) || opts.maxRelays < 1) {
      throw new RangeError(`Invalid maxRelays: ${opts.maxRelays}`);
    }
    this.#o = opts;
    this.#cursor = min;
  }

  /** Opens a listener for one call; resolves with its port, or a refusal as a value. */
  async open(req: RelayOpenRequest): Promise<RelayOpenResult> {
    if (this.#calls.has(req.callId)) return { ok: false, reason: 'error', detail: `duplicate call id ${req.callId}` };
    if (this.#calls.size + this.#pending >= this.#o.maxRelays) {
      return { ok: false, reason: 'limit', detail: `${this.#o.maxRelays} relays active` };
    }
    const { min, max } = this.#o.portRange;
    const size = max - min + 1;
    this.#pending++;
    try {
      for (let tried = 0; tried < size; tried++) {
        const port = this.#cursor;
        this.#cursor = port >= max ? min : port + 1;
        if (this.#busyPorts.has(port)) continue;
        this.#busyPorts.add(port);
        let call: RelayCall;
        try {
          call = await RelayCall.listen(
            {
              req,
              clock: this.#o.clock,
              events: this.#o.events,
              logger: this.#o.logger,
              onListenerClosed: () => this.#busyPorts.delete(port),
              onFinished: () => {
                if (this.#calls.get(req.callId) === call) this.#calls.delete(req.callId);
              },
            },
            port,
          );
        } catch (err: unknown) {
          this.#busyPorts.delete(port);
          const code = (err as { code?: unknown } | null)?.code;
          if (code === 'EADDRINUSE' || code === 'EACCES') continue;
          return { ok: false, reason: 'error', detail: `listen ${req.listenAddress}:${port}: ${String(code ?? err)}` };
        }
        this.#calls.set(req.callId, call);
        this.#o.logger.info({ callId: req.callId, port, expectedPeer: req.expectedPeer }, 'relay listening');
        return { ok: true, port };
      }
      return { ok: false, reason: 'no-port', detail: `no free port in ${min}-${max}` };
    } finally {
      this.#pending--;
    }
  }

  /** Ends one call's relay (listener and connections); onEnded reports reason "closed". */
  close(callId: string): void {
    this.#calls.get(callId)?.close('closed');
  }

  /** Ends every relay (reason "shutdown"). */
  closeAll(): void {
    for (const call of [...this.#calls.values()]) call.close('shutdown');
  }

  /** Live byte counts of one call's relay; undefined when no relay of that call is open. */
  stats(callId: string): RelayByteCounts | undefined {
    return this.#calls.get(callId)?.stats();
  }

  /** Ports with a listener still waiting for its one connection. */
  listening(): number[] {
    const ports: number[] = [];
    for (const call of this.#calls.values()) if (call.listening) ports.push(call.port);
    return ports;
  }

  /** Relays open (listening or relaying). */
  get size(): number {
    return this.#calls.size;
  }
}
