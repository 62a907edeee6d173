/**
 * The talkd invitation table with the classic netkit/BSD semantics (table.c): sequential ids
 * (n + 1) mod MAX_ID skipping 0, entries living MAX_LIFE after their last touch with lazy expiry,
 * `find_match` by names, `find_request` by (l_name, r_name, type, pid). Bounded: when full, an
 * insert returns `undefined` and the caller answers FAILED. Pure: time comes from the Clock.
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
}

/** The request fields the table looks at. */
export type TableRequest = Pick<CtlMsg, 'type' | 'lName' | 'rName' | 'rTty' | 'pid' | 'addr' | 'ctlAddr'>;

export interface InvitationTableOptions {
  readonly clock: Clock;
  /** Upper bound on stored entries (>= 1). */
  readonly capacity: number;
  /** Entry lifetime after the last touch; defaults to MAX_LIFE_MS. */
  readonly maxLifeMs?: number;
}

export class InvitationTable {
  readonly #clock: Clock;
  readonly #capacity: number;
  readonly #maxLifeMs: number;
  /** Insertion order; at most #capacity entries. */
  #entries: Invitation[] = [];
  #currentId = 0;

  constructor(options: InvitationTableOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`Invalid invitation table capacity: ${options.capacity}`);
    }
    this.#clock = options.clock;
    this.#capacity = options.capacity;
    this.#maxLifeMs = options.maxLifeMs ?? MAX_LIFE_MS;
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

  /** insert_table(): stores the request under a new id; `undefined` when the table is full. */
  insert(request: TableRequest): Invitation | undefined {
    this.#expire();
    if (this.#entries.length >= this.#capacity) return undefined;
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
    };
    this.#entries.push(entry);
    return entry;
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
    return this.#entries.length !== before;
  }

  /** Lazy expiry: drop entries untouched for longer than the lifetime (now − touchedAt, as netkit 0.17). */
  #expire(): void {
    const now = this.#clock.now();
    if (this.#entries.some((e) => now - e.touchedAt > this.#maxLifeMs)) {
      this.#entries = this.#entries.filter((e) => now - e.touchedAt <= this.#maxLifeMs);
    }
  }
}
