/**
 * The talkd invitation table with the classic netkit/BSD semantics (table.c): sequential ids
 * (n + 1) mod MAX_ID skipping 0, entries living MAX_LIFE after their last touch with lazy expiry,
 * `find_match` by names, `find_request` by (l_name, r_name, type, pid). Pure: time comes from the Clock.
 *
 * Bounded, with a fair share per packet source address (netkit's table is unbounded; a plain
 * bound belongs to whoever fills it first):
 *  - a source holding `maxPerSource` entries that inserts again replaces its own least recently
 *    touched entry. Replacing, not refusing, serves the genuine user: a talk client re-sends its
 *    LEAVE_INVITE and ANNOUNCE every RING_WAIT, so a genuine entry pushed out by a flood from its
 *    own address is back within 10 s, while a refusal would lock that address out for MAX_LIFE;
 *    and a flooding source only ever displaces itself.
 *  - when the whole table is full, the newcomer takes the least recently touched entry of the
 *    source holding the most entries, if that source holds more than the newcomer does (max-min
 *    fairness); otherwise (every source at one entry) the insert is refused and the caller
 *    answers FAILED.
 * The key is the packet source address only, not the caller name: names are free for an attacker
 * to vary, the address is what the rate limiter and the kernel vouch for. LEAVE_INVITE comes only
 * from local addresses, so a local user can still spread a flood over many 127/8 addresses; the
 * per-source rate limit and this share bound the damage to capacity / maxPerSource sources.
 */
import { MAX_ID, MAX_LIFE_MS } from '../protocol/constants.js';
import type { Clock } from '../shared/clock.js';
import { RequestType, type CtlMsg, type SockAddrIn } from '../protocol/talk-types.js';

/** One stored request (a LEAVE_INVITE or an ANNOUNCE). */
export interface Invitation {
  readonly type: number;
  /** u32 id assigned by the table. */
  id: number;
  readonly lName: string;
  readonly rName: string;
  readonly rTty: string;
  readonly pid: number;
  readonly addr: SockAddrIn;
  readonly ctlAddr: SockAddrIn;
  /** Clock.now() of the last touch. */
  touchedAt: number;
  /** Packet source address of the request that stored it: the key of the fair share. */
  readonly source: string;
}

/** Why an entry was pushed out to make room for a newcomer. */
export type ReplacedReason = 'source-share' | 'fair-share';

/** What insert() did. */
export type InsertOutcome =
  | {
      readonly kind: 'stored';
      readonly entry: Invitation;
      /** The entry that made room, when one had to. */
      readonly replaced?: { readonly reason: ReplacedReason; readonly entry: Invitation };
    }
  | { readonly kind: 'full' };

/** The request fields the table looks at. */
export type TableRequest = Pick<CtlMsg, 'type' | 'lName' | 'rName' | 'rTty' | 'pid' | 'addr' | 'ctlAddr'>;

export interface InvitationTableOptions {
  readonly clock: Clock;
  /** Upper bound on stored entries (>= 1). */
  readonly capacity: number;
  /** Entry lifetime after the last touch; defaults to MAX_LIFE_MS. */
  readonly maxLifeMs?: number;
  /** Most entries one source address may hold (1 ..= capacity); defaults to capacity (no share). */
  readonly maxPerSource?: number;
}

export class InvitationTable {
  readonly #clock: Clock;
  readonly #capacity: number;
  readonly #maxLifeMs: number;
  readonly #maxPerSource: number;
  /** Insertion order; at most #capacity entries. */
  #entries: Invitation[] = [];
  /** Entries per source address (only sources holding at least one). */
  readonly #perSource = new Map<string, number>();
  #currentId = 0;

  constructor(options: InvitationTableOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`Invalid invitation table capacity: ${options.capacity}`);
    }
    this.#clock = options.clock;
    this.#capacity = options.capacity;
    this.#maxLifeMs = options.maxLifeMs ?? MAX_LIFE_MS;
    const share = options.maxPerSource ?? options.capacity;
    if (!Number.isInteger(share) || share < 1 || share > options.capacity) {
      throw new RangeError(`Invalid invitation share per source: ${share} (capacity ${options.capacity})`);
    }
    this.#maxPerSource = share;
  }

  get maxPerSource(): number {
    return this.#maxPerSource;
  }

  /** Live entries stored by `source`. */
  heldBy(source: string): number {
    this.#expire();
    return this.#perSource.get(source) ?? 0;
  }

  /** Number of live entries (after expiry). */
  get size(): number {
    this.#expire();
    return this.#entries.length;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** table.c new_id(): (n + 1) mod MAX_ID, never 0. */
  newId(): number {
    this.#currentId = (this.#currentId + 1) % MAX_ID;
    if (this.#currentId === 0) this.#currentId = 1;
    return this.#currentId;
  }

  /**
   * find_match(): the LEAVE_INVITE left by `rName` for `lName` (the looker is the entry's callee).
   * Only names are compared. Does not touch the entry.
   */
  findMatch(lName: string, rName: string): Invitation | undefined {
    this.#expire();
    return this.#entries.find(
      (e) => e.type === RequestType.LEAVE_INVITE && e.rName === lName && e.lName === rName,
    );
  }

  /** find_request(): an identical request (l_name, r_name, type, pid); touches it when found. */
  findRequest(request: Pick<CtlMsg, 'type' | 'lName' | 'rName' | 'pid'>): Invitation | undefined {
    this.#expire();
    const found = this.#entries.find(
      (e) =>
        e.type === request.type && e.lName === request.lName && e.rName === request.rName && e.pid === request.pid,
    );
    if (found !== undefined) found.touchedAt = this.#clock.now();
    return found;
  }

  /** insert_table(): stores the request from `source` under a new id, within the fair share (see above). */
  insert(request: TableRequest, source: string): InsertOutcome {
    this.#expire();
    const held = this.#perSource.get(source) ?? 0;
    let replaced: { reason: ReplacedReason; entry: Invitation } | undefined;
    if (held >= this.#maxPerSource) {
      const own = this.#oldestOf(source);
      if (own !== undefined) replaced = { reason: 'source-share', entry: own };
    } else if (this.#entries.length >= this.#capacity) {
      const biggest = this.#biggestHolder();
      if (biggest === undefined || biggest.count <= held + 1) return { kind: 'full' };
      const victim = this.#oldestOf(biggest.source);
      if (victim !== undefined) replaced = { reason: 'fair-share', entry: victim };
    }
    if (replaced !== undefined) this.#remove(replaced.entry);
    if (this.#entries.length >= this.#capacity) return { kind: 'full' };
    const entry: Invitation = {
      type: request.type,
      id: this.newId(),
      lName: request.lName,
      rName: request.rName,
      rTty: request.rTty,
      pid: request.pid,
      addr: request.addr,
      ctlAddr: request.ctlAddr,
      touchedAt: this.#clock.now(),
      source,
    };
    this.#entries.push(entry);
    this.#perSource.set(source, held + 1 - (replaced?.reason === 'source-share' ? 1 : 0));
    return replaced === undefined ? { kind: 'stored', entry } : { kind: 'stored', entry, replaced };
  }

  /** A re-announce: the entry gets a fresh id and is touched. Returns the new id. */
  renew(entry: Invitation): number {
    entry.id = this.newId();
    entry.touchedAt = this.#clock.now();
    return entry.id;
  }

  /** delete_invite(): removes every entry with this id; true when one existed. */
  deleteById(id: number): boolean {
    this.#expire();
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.id !== id);
    if (this.#entries.length !== before) this.#recount();
    return this.#entries.length !== before;
  }

  /** The least recently touched entry of `source`. */
  #oldestOf(source: string): Invitation | undefined {
    let oldest: Invitation | undefined;
    for (const e of this.#entries) {
      if (e.source === source && (oldest === undefined || e.touchedAt < oldest.touchedAt)) oldest = e;
    }
    return oldest;
  }

  /** The source holding the most entries (the first seen among equals). */
  #biggestHolder(): { source: string; count: number } | undefined {
    let best: { source: string; count: number } | undefined;
    for (const [source, count] of this.#perSource) {
      if (best === undefined || count > best.count) best = { source, count };
    }
    return best;
  }

  #remove(entry: Invitation): void {
    const i = this.#entries.indexOf(entry);
    if (i === -1) return;
    this.#entries.splice(i, 1);
    const n = (this.#perSource.get(entry.source) ?? 1) - 1;
    if (n <= 0) this.#perSource.delete(entry.source);
    else this.#perSource.set(entry.source, n);
  }

  #recount(): void {
    this.#perSource.clear();
    for (const e of this.#entries) this.#perSource.set(e.source, (this.#perSource.get(e.source) ?? 0) + 1);
  }

  /** Lazy expiry: drop entries untouched for longer than the lifetime (now − touchedAt, as netkit 0.17). */
  #expire(): void {
    const now = this.#clock.now();
    if (this.#entries.some((e) => now - e.touchedAt > this.#maxLifeMs)) {
      this.#entries = this.#entries.filter((e) => now - e.touchedAt <= this.#maxLifeMs);
      this.#recount();
    }
  }
}
