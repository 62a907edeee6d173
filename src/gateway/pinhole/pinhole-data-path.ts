/**
 * Adapter: the pinhole mode's data path. Implements the core's openDataPath/closeDataPath with
 * nftables holes ({@link planHole} + an {@link NftBackend}: libnftables in process or `nft -j`)
 * instead of a TCP relay: the conversation flows in the kernel and this process holds no TCP
 * socket for it.
 *
 * - open: one atomic nftables (JSON) transaction; it has committed before the result goes back to
 *   the core (which only then announces). A failed transaction is a refusal (nobody is rung).
 * - while ringing: our conntrack flows (mark EPOCH/MASK, filtered in the kernel) are listed every
 *   HOLE_POLL_MS: in process through libnetfilter_conntrack (one netlink dump, ~2 ms), or with
 *   `conntrack -L --mark` (a process per poll: ~8 ms of this thread's CPU and a 10-20 ms stall of
 *   the event loop for the fork, measured) when the library is missing or `conntrack` is given.
 *   A flow with the call's mark (set by the rule that consumed the one-shot element)
 *   → connected: the rest of the hole is removed at once (conntrack keeps the flow). No flow at the
 *   hole's expiry → expired: the kernel has expired every element; the call ends. The cost of a poll
 *   does not grow with the number of holes (listing 1,000 set elements as JSON takes 35-70 ms).
 * - while connected: the same listing; no live flow with the mark → the call ended.
 * - opens and closes that queue up are committed together (group commit, MAX_GROUP_COMMIT); a
 *   failed group is retried call by call, so each call still gets its own accept/refuse.
 * - close (call ended by the core) and call end: hole removed, `conntrack -D --mark`.
 * - start: our table (or our chains/sets in the administrator's table) replaced atomically.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { deleteConntrackByMark, NFT_TIMEOUT_MS, type NftBackend, type NftResult } from '../../firewall/nft-runner.js';
import { nftExistingNames, renderFlushHoles, renderReplaceTable, type NftBatch, type NftTableSpec } from '../../firewall/nft-ruleset.js';
import { withFlowtableIfAvailable } from '../../firewall/nft-flowtable-probe.js';
import { openLibconntrack, type Libconntrack } from '../../native/libnetfilter-conntrack.js';
import type { Clock } from '../../shared/clock.js';
import type { DataPathOpenResult, DataPathRequest } from '../session/session-types.js';
import type { DataPath, DataPathEvents } from '../modes/data-path.js';
import { FLOW_POLL_MS, HOLE_POLL_MS, MARK_EPOCH_BITS, MARK_SEQ_BITS, MAX_GROUP_COMMIT, OPEN_TRIES } from './pinhole-constants.js';
import { callMark, LIVE_TCP_STATES, needsExternalPort, parseConntrackFlows, planHole, PortPool, type HolePlan } from './pinhole-planner.js';
import { TalkError } from '../../shared/talk-error.js';

export interface PinholeSettings {
  readonly table: NftTableSpec;
  readonly ports: { readonly min: number; readonly max: number };
  readonly holeTimeoutSeconds: number;
  /** Bound on holes + connected calls (limits.max_calls). */
  readonly maxHoles: number;
}

/** What the holes report (the data-path events; a hole never refuses a connection itself). */
export type PinholeEvents = Pick<DataPathEvents, 'onConnected' | 'onEnded'>;

export interface PinholeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface PinholeDataPathOptions {
  readonly settings: PinholeSettings;
  readonly runner: NftBackend;
  readonly clock: Clock;
  readonly logger: PinholeLogger;
  readonly events: PinholeEvents;
  /**
   * conntrack program + leading args (default ['conntrack']): deletes a call's flows, and lists
   * them when given (e.g. a namespace-entering command) or when `flows` is "exec".
   */
  readonly conntrack?: readonly string[];
  /** How the call flows are listed: "lib" (in process; default unless `conntrack` is given) or "exec". */
  readonly flows?: 'lib' | 'exec';
  /** Process epoch in the conntrack marks (default: this pid). */
  readonly epoch?: number;
  readonly random?: () => number;
}

interface Hole {
  readonly plan: HolePlan;
  readonly mark: number;
  readonly port: number | undefined;
  readonly openedAt: number;
  expiresAt: number;
  state: 'ringing' | 'connected';
  connectedAt?: number;
  bytes?: readonly [number, number];
}

export class PinholeDataPath implements DataPath {
  readonly kind = 'nft-holes';
  readonly #s: PinholeSettings;
  readonly #runner: NftBackend;
  readonly #clock: Clock;
  readonly #log: PinholeLogger;
  readonly #events: PinholeEvents;
  readonly #conntrack: readonly string[];
  /** In-process flow listing (undefined: `conntrack -L` per poll). */
  #ct: Libconntrack | undefined;
  readonly #epoch: number;
  readonly #random: () => number;
  readonly #pool: PortPool;
  readonly #holes = new Map<string, Hole>();
  /** Calls whose open transaction is in flight (counted against the quota). */
  readonly #opening = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  /** Marks of holes closed while ringing (mark → call id): their flow, if any, is deleted by the next poll. */
  readonly #sweep = new Map<number, string>();
  readonly #queue: { batch: NftBatch; resolve: (r: NftResult) => void }[] = [];
  #committing = false;
  #stopped = false;

  constructor(o: PinholeDataPathOptions) {
    this.#s = o.settings;
    this.#runner = o.runner;
    this.#clock = o.clock;
    this.#log = o.logger;
    this.#events = o.events;
    this.#conntrack = o.conntrack ?? ['conntrack'];
    if ((o.flows ?? (o.conntrack === undefined ? 'lib' : 'exec')) === 'lib') {
      try {
        this.#ct = openLibconntrack();
      } catch (err: unknown) {
        this.#log.warn({ reason: (err as Error).message }, 'pinhole: listing call flows with conntrack -L per poll');
      }
    }
    this.#epoch = o.epoch ?? process.pid;
    this.#random = o.random ?? Math.random;
    this.#pool = new PortPool(o.settings.ports);
  }

  /** Replaces our table (own) or our chains and sets (admin) atomically; enables flow byte counters. */
  async start(): Promise<void> {
    const t = this.#s.table;
    let existing = new Set<string>();
    if (t.deployment === 'admin') {
      const listed = await this.#runner.listTable(t.family, t.table);
      if (!listed.ok) throw new TalkError('NFT_TABLE_INSTALL', `pinhole: cannot list the administrator's table ${t.family} ${t.table}: ${listed.message}`);
      existing = nftExistingNames(t, listed.stdout);
    }
    const r = await this.#runner.apply(renderReplaceTable(await withFlowtableIfAvailable(t, { apply: (b) => this.#runner.apply(b), log: this.#log }), existing));
    if (!r.ok) throw new TalkError('NFT_TABLE_INSTALL', `pinhole: cannot install nftables table ${t.family} ${t.table}: ${r.failure}: ${r.message}`);
    // Per-flow byte counters for the audit log (per network namespace; best effort).
    await writeFile('/proc/sys/net/netfilter/nf_conntrack_acct', '1').catch(() => undefined);
    this.#log.info({ table: t.table, deployment: t.deployment }, 'pinhole: nftables table replaced');
  }

  /** Open holes (ringing) and connected calls. */
  get size(): number {
    return this.#holes.size;
  }
  ringing(): number {
    let n = 0;
    for (const h of this.#holes.values()) if (h.state === 'ringing') n++;
    return n;
  }

  async open(req: DataPathRequest): Promise<DataPathOpenResult> {
    if (this.#stopped) return { ok: false, reason: 'stopped', detail: 'gateway stopping' };
    if (this.#holes.has(req.callId) || this.#opening.has(req.callId)) return { ok: false, reason: 'duplicate', detail: 'call already has a hole' };
    if (this.#holes.size + this.#opening.size >= this.#s.maxHoles) return { ok: false, reason: 'quota', detail: `${this.#s.maxHoles} holes open` };
    this.#opening.add(req.callId);
    try {
      return await this.#open(req);
    } finally {
      this.#opening.delete(req.callId);
    }
  }

  async #open(req: DataPathRequest): Promise<DataPathOpenResult> {
    let mark: number;
    try {
      mark = callMark(req.callId, this.#epoch);
    } catch (err: unknown) {
      return { ok: false, reason: 'error', detail: (err as Error).message };
    }
    const tried = new Set<number>();
    let last = '';
    for (let i = 0; i < OPEN_TRIES; i++) {
      let port: number | undefined;
      if (needsExternalPort(req)) {
        port = this.#pool.take(this.#random(), tried);
        if (port === undefined) return { ok: false, reason: 'quota', detail: last || 'no free pinhole port' };
        tried.add(port);
      }
      const plan = planHole(this.#s.table, req, { externalPort: port ?? 0, mark, timeoutSeconds: this.#s.holeTimeoutSeconds });
      const opened = this.#clock.now();
      const r = await this.#commit(plan.open);
      if (r.ok) {
        if (this.#stopped) {
          void this.#commit(plan.close);
          if (port !== undefined) this.#pool.release(port);
          return { ok: false, reason: 'stopped', detail: 'gateway stopping' };
        }
        this.#holes.set(req.callId, {
          plan,
          mark,
          port,
          openedAt: opened,
          expiresAt: opened + this.#s.holeTimeoutSeconds * 1000,
          state: 'ringing',
        });
        this.#log.info({ callId: req.callId, peer: req.expectedPeer, announce: plan.announce, mark, direction: plan.hole.direction }, 'pinhole: hole opened');
        this.#arm();
        return { ok: true, address: plan.announce.address, port: plan.announce.port };
      }
      if (port !== undefined) this.#pool.release(port);
      last = `${r.failure}: ${r.message}`;
      this.#log.warn({ callId: req.callId, failure: r.failure, port, err: r.message.slice(0, 200) }, 'pinhole: hole transaction failed');
      // Only a clash on the external port is worth another port; anything else is final.
      if (r.failure !== 'exists' || port === undefined) break;
    }
    return { ok: false, reason: 'nft', detail: last };
  }

  /**
   * The call was (re-)announced: a still-unused hole lives another hole timeout, as the callee's
   * invitation does (talkd MAX_LIFE from the last announce). A used hole is left alone (the
   * refresh batch fails whole on the consumed element).
   */
  renew(callId: string): void {
    const h = this.#holes.get(callId);
    if (h === undefined || h.state !== 'ringing' || this.#stopped) return;
    const at = this.#clock.now();
    void this.#commit(h.plan.refresh).then((r) => {
      if (r.ok && this.#holes.get(callId) === h && h.state === 'ringing') h.expiresAt = at + this.#s.holeTimeoutSeconds * 1000;
      else if (!r.ok) this.#log.debug({ callId, failure: r.failure }, 'pinhole: hole not refreshed (used or gone)');
    });
  }

  /** The core ended the call: remove the hole (if still open) and the call's flows. */
  close(callId: string): void {
    const h = this.#holes.get(callId);
    if (h === undefined) return;
    this.#holes.delete(callId);
    void this.#remove(h, 'closed');
  }

  /**
   * Ends every call (its worker died: nobody would ever announce, end or audit them): holes removed,
   * connected calls' flows deleted. Returns their ids. The data path itself keeps running.
   */
  closeAll(): string[] {
    const ids = [...this.#holes.keys()];
    for (const id of ids) this.close(id);
    return ids;
  }

  /** Stops polling and removes every hole (the table's rules stay: the firewall remains closed). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#holes.clear();
    this.#ct?.close();
    this.#ct = undefined;
    const r = await this.#runner.apply(renderFlushHoles(this.#s.table));
    if (!r.ok) this.#log.warn({ err: r.message.slice(0, 200) }, 'pinhole: flushing holes on stop failed');
  }

  async #remove(h: Hole, why: string): Promise<void> {
    // A taken hole's port went back to the pool when it was taken (#onTaken): release it only once.
    if (h.port !== undefined && h.state === 'ringing') this.#pool.release(h.port);
    const r = await this.#commit(h.plan.close);
    if (!r.ok) this.#log.warn({ callId: h.plan.callId, err: r.message.slice(0, 200) }, 'pinhole: removing the hole failed');
    if (h.state === 'connected') {
      const d = await deleteConntrackByMark(h.mark, this.#conntrack);
      if (d.deleted > 0) this.#log.info({ callId: h.plan.callId, flows: d.deleted }, 'pinhole: call flows deleted');
    } else if (why === 'closed') {
      // A flow may have taken the hole since the last poll: the next poll (one listing for every
      // call) deletes it if so; no conntrack process per closed hole.
      this.#sweep.set(h.mark, h.plan.callId);
      this.#arm();
    }
  }

  // ---------------------------------------------------------------- group commit

  /** Applies a batch, together with whatever else queued meanwhile (one transaction per group). */
  #commit(batch: NftBatch): Promise<NftResult> {
    return new Promise((resolve) => {
      this.#queue.push({ batch, resolve });
      if (!this.#committing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#queue.length > 0) {
        // One turn of the event loop lets the callers just answered queue their next batch, so a
        // burst of calls shares one transaction instead of alternating big and single groups.
        await new Promise((resolve) => setImmediate(resolve));
        const group = this.#queue.splice(0, MAX_GROUP_COMMIT);
        if (group.length === 1) {
          const only = group[0] as (typeof group)[number];
          only.resolve(await this.#runner.apply(only.batch));
          continue;
        }
        const all = await this.#runner.apply({ nftables: group.flatMap((g) => g.batch.nftables) });
        if (all.ok) {
          for (const g of group) g.resolve(all);
          continue;
        }
        // Someone's element clashed: nothing was applied; each call gets its own answer.
        for (const g of group) g.resolve(await this.#runner.apply(g.batch));
      }
    } finally {
      this.#committing = false;
    }
  }

  // ---------------------------------------------------------------- polling the call flows

  #arm(): void {
    if (this.#timer !== undefined || this.#polling || this.#stopped || (this.#holes.size === 0 && this.#sweep.size === 0)) return;
    const ms = this.ringing() > 0 || this.#sweep.size > 0 ? HOLE_POLL_MS : FLOW_POLL_MS;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#polling = true;
      void this.#poll().finally(() => {
        this.#polling = false;
        this.#arm();
      });
    }, ms);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    if ((this.#holes.size === 0 && this.#sweep.size === 0) || this.#stopped) return;
    const flows = await this.#listFlows();
    if (flows === undefined) return;
    const now = this.#clock.now();
    const sweep = [...this.#sweep];
    this.#sweep.clear();
    for (const [mark, callId] of sweep) {
      if (!flows.some((f) => f.mark === mark)) continue;
      const d = await deleteConntrackByMark(mark, this.#conntrack);
      this.#log.info({ callId, flows: d.deleted }, 'pinhole: flow of a call closed while its hole was being taken deleted');
    }
    for (const h of [...this.#holes.values()]) {
      if (this.#holes.get(h.plan.callId) !== h) continue;
      const mine = flows.filter((f) => f.mark === h.mark);
      if (h.state === 'ringing') {
        if (mine.length > 0) await this.#onTaken(h, now);
        else if (now >= h.expiresAt) {
          this.#holes.delete(h.plan.callId);
          await this.#remove(h, 'expired');
          this.#log.info({ callId: h.plan.callId }, 'pinhole: hole expired unused');
          this.#events.onEnded(h.plan.callId, { bytesIn: 0, bytesOut: 0, durationMs: 0, reason: 'pinhole expired unused' });
        }
        continue;
      }
      for (const f of mine) if (f.bytes !== undefined) h.bytes = f.bytes;
      if (mine.some((f) => LIVE_TCP_STATES.has(f.state))) continue;
      this.#holes.delete(h.plan.callId);
      await this.#remove(h, 'ended');
      const [bytesIn, bytesOut] = h.bytes ?? [0, 0];
      this.#events.onEnded(h.plan.callId, { bytesIn, bytesOut, durationMs: Math.max(0, now - (h.connectedAt ?? now)), reason: 'connection closed' });
    }
  }

  /** The call's flow took the hole (its mark is on a flow); conntrack keeps it: remove the rest now. */
  async #onTaken(h: Hole, now: number): Promise<void> {
    h.state = 'connected';
    h.connectedAt = now;
    if (h.port !== undefined) this.#pool.release(h.port);
    const r = await this.#commit(h.plan.close);
    if (!r.ok) this.#log.warn({ callId: h.plan.callId, err: r.message.slice(0, 200) }, 'pinhole: removing a used hole failed');
    this.#log.info({ callId: h.plan.callId, mark: h.mark }, 'pinhole: hole used, removed; the flow continues in the kernel');
    const { hole } = h.plan;
    const inbound = hole.direction === 'inbound';
    const peer = inbound ? (hole.peer ?? '') : hole.internalAddress;
    const target = inbound ? `${hole.internalAddress}:${hole.internalPort}` : `${hole.peer ?? ''}:${hole.peerPort ?? 0}`;
    this.#events.onConnected(h.plan.callId, { peer, target });
  }

  /** Our flows only: the marks of this process's epoch (the bits above the call sequence). */
  #listFlows(): Promise<ReturnType<typeof parseConntrackFlows> | undefined> {
    const mask = ((2 ** MARK_EPOCH_BITS - 1) * 2 ** MARK_SEQ_BITS) >>> 0;
    const value = ((this.#epoch & (2 ** MARK_EPOCH_BITS - 1)) * 2 ** MARK_SEQ_BITS) >>> 0;
    if (this.#ct !== undefined) {
      const d = this.#ct.dumpTcpByMark(value, mask);
      if (!d.ok) this.#log.warn({ err: d.message }, 'pinhole: conntrack dump failed');
      return Promise.resolve(d.ok ? d.flows : undefined);
    }
    const [file, ...lead] = this.#conntrack;
    return new Promise((resolve) => {
      execFile(file ?? 'conntrack', [...lead, '-L', '-p', 'tcp', '--mark', `${value}/${mask}`], { timeout: NFT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err !== null && stdout === '') {
          this.#log.warn({ err: String(stderr).slice(0, 200) }, 'pinhole: conntrack -L failed');
          resolve(undefined);
          return;
        }
        resolve(parseConntrackFlows(stdout));
      });
    });
  }
}
