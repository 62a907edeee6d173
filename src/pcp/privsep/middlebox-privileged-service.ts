/**
 * The privileged middlebox process's side of its worker interface: replace the table, apply
 * mapping operations (each checked by middlebox-op-check.ts), tell whether the table was lost,
 * remove it. Anything else, or any mapping the configuration does not allow, is refused with a
 * typed code and logged, and nftables is not touched.
 */
import { z } from 'zod';
import { sanitizeText } from '../../shared/sanitize.js';
import type { FirewallOp, MiddleboxConfig } from '../middlebox-core.js';
import type { MiddleboxFirewall } from '../middlebox-firewall.js';
import { checkMiddleboxOp, firewallOpSchema, MAX_OPS_PER_REQUEST, type MiddleboxRefusal } from './middlebox-op-check.js';

const requestSchema = z.discriminatedUnion('op', [
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('replaceTable') }),
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('apply'), ops: z.array(firewallOpSchema).min(1).max(MAX_OPS_PER_REQUEST) }),
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('tableLost') }),
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('removeTable') }),
]);

export type MiddleboxReply =
  | { readonly t: 'res'; readonly id: number; readonly ok: true; readonly result?: unknown }
  | { readonly t: 'res'; readonly id: number; readonly ok: false; readonly code: MiddleboxRefusal | 'failed'; readonly message: string };

export interface MiddleboxServiceLog {
  warn(obj: object, msg: string): void;
}

export class MiddleboxPrivilegedService {
  readonly #config: MiddleboxConfig;
  readonly #firewall: MiddleboxFirewall;
  readonly #log: MiddleboxServiceLog;

  constructor(config: MiddleboxConfig, firewall: MiddleboxFirewall, log: MiddleboxServiceLog) {
    this.#config = config;
    this.#firewall = firewall;
    this.#log = log;
  }

  /** Handles one raw request of the worker; never throws. */
  async handle(raw: unknown): Promise<MiddleboxReply> {
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : -1;
    const parsed = requestSchema.safeParse(raw);
    if (!parsed.success) return this.#refuse(id, 'malformed', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const r = parsed.data;
    try {
      switch (r.op) {
        case 'replaceTable':
          await this.#firewall.replaceTable();
          return { t: 'res', id: r.id, ok: true };
        case 'apply': {
          const ops = r.ops as FirewallOp[];
          for (const op of ops) {
            const c = checkMiddleboxOp(this.#config, op);
            if (!c.ok) return this.#refuse(r.id, c.code, c.message);
          }
          return { t: 'res', id: r.id, ok: true, result: await this.#firewall.apply(ops) };
        }
        case 'tableLost':
          return { t: 'res', id: r.id, ok: true, result: await this.#firewall.tableLost() };
        case 'removeTable':
          return { t: 'res', id: r.id, ok: true, result: await this.#firewall.removeTable() };
      }
    } catch (err: unknown) {
      return this.#refuse(r.id, 'failed', (err as Error).message);
    }
  }

  #refuse(id: number, code: MiddleboxRefusal | 'failed', message: string): MiddleboxReply {
    this.#log.warn({ code, reason: sanitizeText(message).slice(0, 300) }, 'privileged request refused');
    return { t: 'res', id, ok: false, code, message };
  }
}
