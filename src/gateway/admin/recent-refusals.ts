/**
 * The admin page's "recent refusals" (issue 16), built from the gateway's own audit records: a
 * `refused` record gives the typed code (the talk protocol answer the caller got, e.g.
 * PERMISSION_DENIED), the human reason beside it and, for a policy refusal, the deciding rule; the
 * call's earlier `requested` record gives the parties. Pure and bounded.
 */
import type { GatewayRefusal } from '../gateway-status.js';

/** Refusals kept (newest last). */
export const RECENT_REFUSALS_MAX = 100;
/** Requested calls remembered for naming the parties of a later refusal (oldest forgotten first). */
export const RECENT_REQUESTS_MAX = 1_024;

interface AuditLike {
  readonly event: string;
  readonly callId: string;
  readonly [k: string]: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class RecentRefusals {
  readonly #refusals: GatewayRefusal[] = [];
  readonly #parties = new Map<string, { caller?: string; callee?: string }>();

  /** Feeds one audit record written at `at` (ISO 8601). */
  observe(record: AuditLike, at: string): void {
    if (record.event === 'requested') {
      const c = record['caller'] as { user?: unknown; address?: unknown } | undefined;
      const caller = c !== undefined && typeof c === 'object' ? `${str(c.user) ?? '?'}@${str(c.address) ?? '?'}` : undefined;
      const callee = str(record['requested']);
      this.#parties.set(record.callId, { ...(caller !== undefined ? { caller } : {}), ...(callee !== undefined ? { callee } : {}) });
      if (this.#parties.size > RECENT_REQUESTS_MAX) this.#parties.delete(this.#parties.keys().next().value as string);
      return;
    }
    if (record.event === 'ended') {
      this.#parties.delete(record.callId);
      return;
    }
    if (record.event !== 'refused') return;
    const message = str(record['reason']);
    const rule = message === undefined ? undefined : /policy rule #\d+|default deny/.exec(message)?.[0];
    const parties = this.#parties.get(record.callId) ?? {};
    this.#parties.delete(record.callId);
    this.#refusals.push({
      at,
      callId: record.callId,
      reason: str(record['answer']) ?? 'refused',
      ...(message !== undefined ? { message } : {}),
      ...(rule !== undefined ? { rule } : {}),
      ...parties,
    });
    if (this.#refusals.length > RECENT_REFUSALS_MAX) this.#refusals.shift();
  }

  /** The kept refusals, oldest first. */
  list(): readonly GatewayRefusal[] {
    return [...this.#refusals];
  }
}
