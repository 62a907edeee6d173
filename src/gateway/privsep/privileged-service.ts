/**
 * The privileged process's side of the worker interface: parses each request (privsep-messages.ts),
 * checks it against the configuration (privileged-request-check.ts), logs and refuses anything
 * else with a typed code, and only then touches the firewall (the local holes data path) or sends a
 * datagram from a foreign address. It never reads bytes from a peer: its inputs are the worker's
 * requests, its effects nftables transactions and single sendto()s.
 */
import type { GatewayConfig } from '../../config/gateway-config.js';
import { sanitizeText } from '../../shared/sanitize.js';
import type { DataPath } from '../modes/data-path.js';
import type { DataPathOpenResult } from '../session/session-types.js';
import type { ForeignSender } from '../io/transparent-ingress.js';
import { checkPrivilegedRequest } from './privileged-request-check.js';
import { privilegedRequestSchema, type PrivilegedReply } from './privsep-messages.js';

export interface PrivilegedServiceLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface PrivilegedServiceOptions {
  config: GatewayConfig;
  /** The local nftables holes (pinhole mode), owned by the privileged process. */
  readonly holes?: DataPath & { closeAll?(): string[]; listCalls?(): string[] };
  readonly sendFrom?: ForeignSender;
  readonly log: PrivilegedServiceLog;
  /** One node of an HA pair: whether it is the master now (a backup opens no hole). */
  readonly serving?: () => boolean;
}

export class PrivilegedService {
  #config: GatewayConfig;
  readonly #o: PrivilegedServiceOptions;
  /** Calls whose hole this worker opened (renew/close only for those). */
  readonly #calls = new Set<string>();

  constructor(o: PrivilegedServiceOptions) {
    this.#o = o;
    this.#config = o.config;
  }

  /** A reloaded configuration (SIGHUP) applies to every later request. */
  setConfig(c: GatewayConfig): void {
    this.#config = c;
  }

  /** Handles one raw request from the worker; never throws. */
  async handle(raw: unknown): Promise<PrivilegedReply> {
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : -1;
    const parsed = privilegedRequestSchema.safeParse(raw);
    if (!parsed.success) return this.#refuse(id, 'malformed', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), raw);
    const r = parsed.data;
    const checked = checkPrivilegedRequest(this.#config, r);
    if (!checked.ok) return this.#refuse(r.id, checked.code, checked.message, r);
    const holes = this.#o.holes;
    try {
      switch (r.op) {
        case 'open': {
          if (holes === undefined) return this.#refuse(r.id, 'no-holes-here', 'no local holes', r);
          if (this.#o.serving?.() === false) return this.#refuse(r.id, 'ha-not-master', 'this node of the HA pair is not the master', r);
          const result: DataPathOpenResult = await holes.open(r.request);
          if (result.ok) this.#calls.add(r.request.callId);
          return { t: 'res', id: r.id, ok: true, result };
        }
        case 'renew':
        case 'close':
          if (holes === undefined || !this.#calls.has(r.callId)) return this.#refuse(r.id, 'unknown-call', `no hole of ${r.callId}`, r);
          if (r.op === 'renew') holes.renew(r.callId);
          else {
            this.#calls.delete(r.callId);
            holes.close(r.callId);
          }
          return { t: 'res', id: r.id, ok: true };
        case 'list':
          return { t: 'res', id: r.id, ok: true, result: [...this.#calls] };
        case 'flush':
          return { t: 'res', id: r.id, ok: true, result: this.flush() };
        case 'sendFrom': {
          const send = this.#o.sendFrom;
          if (send === undefined) return this.#refuse(r.id, 'no-interception', 'no interception here', r);
          send(Buffer.from(r.bytes, 'base64'), { from: r.from, to: r.to });
          return { t: 'res', id: r.id, ok: true };
        }
      }
    } catch (err: unknown) {
      return this.#refuse(r.id, 'send-failed', (err as Error).message, r);
    }
  }

  /** Ends every call of the worker (it died, or asked): holes removed, flows deleted. */
  flush(): string[] {
    this.#calls.clear();
    return this.#o.holes?.closeAll?.() ?? [];
  }

  /** A data path event for a call that is over: forget it. */
  ended(callId: string): void {
    this.#calls.delete(callId);
  }

  #refuse(id: number, code: Extract<PrivilegedReply, { ok: false }>['code'], message: string, request: unknown): PrivilegedReply {
    const op = typeof request === 'object' && request !== null ? String((request as { op?: unknown }).op) : typeof request;
    this.#o.log.warn({ code, op: sanitizeText(op).slice(0, 16), reason: sanitizeText(message).slice(0, 300) }, 'privileged request refused');
    return { t: 'res', id, ok: false, code, message };
  }
}
