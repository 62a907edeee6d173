/**
 * The middlebox's pure core: the mapping table and PCP / NAT-PMP request processing.
 *
 * No I/O: a request yields either an immediate reply or a firewall transaction whose outcome the
 * adapter reports back (`commit()` / `fail()`), so SUCCESS is answered iff the nft batch committed
 * and the table changes only then. The adapter runs transactions one at a time.
 *
 * What it enforces (shared/reference/middlebox.md §2, §5; miniupnpd does not): FILTER installed
 * as a peer-restricted hole, PREFER_FAILURE → CANNOT_PROVIDE_EXTERNAL with no substitute,
 * renew/delete only with the same nonce from the creator or an authorised agent, THIRD_PARTY
 * only for configured agents, lifetimes clamped, refusals answered at once.
 */
import type { Clock } from '../shared/clock.js';
import { nftComment } from '../firewall/nft-comment.js';
import type { HoleSpec } from '../firewall/nft-hole.js';
import type { NftFailure } from '../firewall/nft-runner.js';
import { isIpv4, readPcpAddress } from './pcp-address.js';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  NatpmpOpcode,
  NatpmpResult,
  PCP_HEADER_SIZE,
  PCP_LONG_ERROR_LIFETIME_S,
  PCP_MAP_BODY_SIZE,
  PCP_PEER_BODY_SIZE,
  PCP_SHORT_ERROR_LIFETIME_S,
  PCP_VERSION,
  PcpOpcode,
  PcpResult,
  type PcpResultCode,
} from './pcp-constants.js';
import { NO_OPTIONS } from './pcp-option.js';
import { decodePcpRequest, readMapBody } from './pcp-request.js';
import { encodePcpResponse } from './pcp-response.js';
import { decodeNatpmpRequest, encodeNatpmpResponse } from './natpmp-message.js';

export interface MiddleboxConfig {
  readonly externalAddress: string;
  /** Inside networks (CIDR, IPv4); a subject outside them is NOT_AUTHORIZED. Empty = any. */
  readonly insideNetworks: readonly string[];
  readonly minLifetime: number;
  readonly maxLifetime: number;
  /** Agents (source IPs) allowed to use THIRD_PARTY. */
  readonly thirdParty: readonly string[];
  /** External ports handed out when the suggestion is 0 or taken. */
  readonly portRange: readonly [number, number];
  /** Bound on live mappings (NO_RESOURCES beyond). */
  readonly maxMappings: number;
  /** Bound per inside host (USER_EX_QUOTA beyond). */
  readonly maxPerHost: number;
}

/** Defaults: PCP-base lifetimes cited by miniupnpd's config (120 s – 86400 s). */
export const MIDDLEBOX_DEFAULTS = {
  minLifetime: 120,
  maxLifetime: 86_400,
  portRange: [1024, 65_535] as const,
  maxMappings: 4096,
  maxPerHost: 256,
};

export interface Mapping {
  readonly id: string;
  readonly nonce: string;
  /** The inside host the mapping is for (THIRD_PARTY subject or the requester). */
  readonly subject: string;
  /** Who created it (an agent for THIRD_PARTY). */
  readonly requester: string;
  readonly protocol: number;
  readonly internalPort: number;
  readonly externalPort: number;
  readonly peer: string | null;
  readonly expiresAt: number;
  readonly hole: HoleSpec;
  readonly natpmp: boolean;
}

export interface MapOutcome {
  readonly result: PcpResultCode;
  readonly lifetime: number;
  readonly externalPort: number;
  readonly reason: string;
  /** The mapping the request created, renewed or deleted. */
  readonly mappingId?: string;
}

/** What one request's log line says: a message, and the mapping and result code as fields. */
export interface PcpLogEntry {
  readonly msg: string;
  readonly mappingId?: string;
  /** PCP (RFC 6887 §7.4) or NAT-PMP (RFC 6886 §3.5) result code. */
  readonly result?: number;
}

function mapLog(prefix: string, o: MapOutcome): PcpLogEntry {
  return { msg: `${prefix}: ${o.reason}`, result: o.result, ...(o.mappingId !== undefined ? { mappingId: o.mappingId } : {}) };
}

export type FirewallOp =
  | { readonly kind: 'open'; readonly hole: HoleSpec }
  | { readonly kind: 'close'; readonly hole: HoleSpec }
  /** Close `old` and open `hole` atomically (renewal, filter change). */
  | { readonly kind: 'replace'; readonly old: HoleSpec; readonly hole: HoleSpec };

export type Action<T> =
  | { readonly kind: 'done'; readonly value: T }
  | { readonly kind: 'transact'; readonly ops: readonly FirewallOp[]; commit(now: number): T; fail(failure: NftFailure, now: number): T };

export interface MapRequest {
  readonly source: string;
  readonly thirdParty?: string;
  readonly nonce: string;
  readonly protocol: number;
  readonly internalPort: number;
  readonly suggestedPort: number;
  readonly suggestedAddress: string;
  readonly preferFailure: boolean;
  /** null = any peer. */
  readonly peer: string | null;
  readonly lifetime: number;
  readonly description?: string;
  readonly natpmp: boolean;
}

const NATPMP_NONCE = 'natpmp';
/** Longest part of a peer's DESCRIPTION kept in a hole's nft comment, after the mapping id and subject (NFT_COMMENT_MAX 127 in all). */
const DESCRIPTION_NOTE_MAX = 60;

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
}

export function inNetwork(address: string, cidr: string): boolean {
  if (!isIpv4(address)) return false;
  const [net, lenText] = cidr.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  if (net === undefined || !isIpv4(net) || !(len >= 0 && len <= 32)) return false;
  const mask = len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0;
  return ((ipv4ToInt(address) & mask) >>> 0) === ((ipv4ToInt(net) & mask) >>> 0);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class MiddleboxCore {
  readonly #config: MiddleboxConfig;
  readonly #clock: Clock;
  readonly #mappings = new Map<string, Mapping>();
  /** `${proto}/${externalPort}` → mapping id. */
  readonly #byExternal = new Map<string, string>();
  /** `${subject}/${proto}/${internalPort}` → mapping id. */
  readonly #byInternal = new Map<string, string>();
  #epochStart: number;
  #seq = 0;

  constructor(config: MiddleboxConfig, clock: Clock) {
    this.#config = config;
    this.#clock = clock;
    this.#epochStart = clock.now();
  }

  get config(): MiddleboxConfig {
    return this.#config;
  }

  /** Seconds since the mapping state began (RFC 6887 §8.5). */
  epoch(now = this.#clock.now()): number {
    return Math.max(0, Math.floor((now - this.#epochStart) / 1000)) >>> 0;
  }

  /** State loss (firewall table replaced): forget everything, restart the epoch. */
  resetState(now = this.#clock.now()): void {
    this.#mappings.clear();
    this.#byExternal.clear();
    this.#byInternal.clear();
    this.#epochStart = now;
  }

  mappings(): Mapping[] {
    return [...this.#mappings.values()];
  }

  /** Drops expired mappings and returns their holes (the adapter closes them idempotently). */
  expire(now = this.#clock.now()): HoleSpec[] {
    const out: HoleSpec[] = [];
    for (const m of this.#mappings.values()) {
      if (m.expiresAt <= now) {
        this.#remove(m);
        out.push(m.hole);
      }
    }
    return out;
  }

  /** Earliest expiry, for the adapter's timer. */
  nextExpiry(): number | null {
    let min: number | null = null;
    for (const m of this.#mappings.values()) if (min === null || m.expiresAt < min) min = m.expiresAt;
    return min;
  }

  clampLifetime(requested: number): number {
    return Math.min(Math.max(requested, this.#config.minLifetime), this.#config.maxLifetime);
  }

  #remove(m: Mapping): void {
    this.#mappings.delete(m.id);
    this.#byExternal.delete(`${m.protocol}/${m.externalPort}`);
    this.#byInternal.delete(`${m.subject}/${m.protocol}/${m.internalPort}`);
  }

  #insert(m: Mapping): void {
    this.#mappings.set(m.id, m);
    this.#byExternal.set(`${m.protocol}/${m.externalPort}`, m.id);
    this.#byInternal.set(`${m.subject}/${m.protocol}/${m.internalPort}`, m.id);
  }

  #outcome(result: PcpResultCode, reason: string, externalPort = 0, lifetime?: number, mappingId?: string): MapOutcome {
    const lt =
      lifetime ??
      (result === PcpResult.NETWORK_FAILURE || result === PcpResult.NO_RESOURCES || result === PcpResult.USER_EX_QUOTA ? PCP_SHORT_ERROR_LIFETIME_S : PCP_LONG_ERROR_LIFETIME_S);
    return { result, lifetime: lt, externalPort, reason, ...(mappingId !== undefined ? { mappingId } : {}) };
  }

  #done(result: PcpResultCode, reason: string, externalPort = 0, lifetime?: number): Action<MapOutcome> {
    return { kind: 'done', value: this.#outcome(result, reason, externalPort, lifetime) };
  }

  #hole(id: string, subject: string, protocol: number, internalPort: number, externalPort: number, peer: string | null, lifetime: number, description?: string): HoleSpec {
    const note = description === undefined ? '' : ` ${nftComment(description, DESCRIPTION_NOTE_MAX)}`;
    return {
      id: `${id} ${subject}:${internalPort}${note}`,
      direction: 'inbound',
      protocol: protocol === IPPROTO_UDP ? 'udp' : 'tcp',
      peer,
      internalAddress: subject,
      internalPort,
      externalPort,
      timeoutSeconds: lifetime,
      oneShot: false,
      mark: 0,
    };
  }

  #allocatePort(protocol: number, suggested: number): number | null {
    const [lo, hi] = this.#config.portRange;
    if (suggested >= lo && suggested <= hi && !this.#byExternal.has(`${protocol}/${suggested}`)) return suggested;
    // Bounded scan of an in-memory table (at most the range size, no I/O).
    const span = hi - lo + 1;
    const start = suggested >= lo && suggested <= hi ? suggested - lo : this.#seq % span;
    for (let i = 0; i < span; i++) {
      const p = lo + ((start + i) % span);
      if (!this.#byExternal.has(`${protocol}/${p}`)) return p;
    }
    return null;
  }

  /** MAP (PCP, or NAT-PMP translated): create, renew, change or delete a mapping. */
  map(req: MapRequest): Action<MapOutcome> {
    const now = this.#clock.now();
    const cfg = this.#config;
    let subject = req.source;
    if (req.thirdParty !== undefined) {
      if (req.thirdParty === req.source) return this.#done(PcpResult.MALFORMED_OPTION, 'THIRD_PARTY equals the source');
      if (!cfg.thirdParty.includes(req.source)) return this.#done(PcpResult.NOT_AUTHORIZED, `${req.source} is not an authorised third-party agent`);
      subject = req.thirdParty;
    }
    if (!isIpv4(subject)) return this.#done(PcpResult.UNSUPP_PROTOCOL, 'IPv6 mappings are not supported');
    if (cfg.insideNetworks.length > 0 && !cfg.insideNetworks.some((n) => inNetwork(subject, n))) {
      return this.#done(PcpResult.NOT_AUTHORIZED, `${subject} is not inside`);
    }
    if (req.protocol !== IPPROTO_TCP && req.protocol !== IPPROTO_UDP) return this.#done(PcpResult.UNSUPP_PROTOCOL, `protocol ${req.protocol}`);
    const key = `${subject}/${req.protocol}/${req.internalPort}`;
    const existingId = this.#byInternal.get(key);
    const existing = existingId === undefined ? undefined : this.#mappings.get(existingId);
    const mayTouch = (m: Mapping): string | null => {
      if (m.nonce !== req.nonce) return 'nonce does not match the mapping';
      if (m.requester !== req.source && !(cfg.thirdParty.includes(req.source) && req.thirdParty === m.subject)) return 'not the mapping\u2019s client';
      return null;
    };

    if (req.lifetime === 0) {
      if (req.internalPort === 0) return this.#done(PcpResult.MALFORMED_REQUEST, 'delete needs an internal port');
      if (existing === undefined) return this.#done(PcpResult.SUCCESS, 'no such mapping (already gone)', 0, 0);
      const why = mayTouch(existing);
      if (why !== null) return this.#done(PcpResult.NOT_AUTHORIZED, why);
      return {
        kind: 'transact',
        ops: [{ kind: 'close', hole: existing.hole }],
        commit: () => {
          this.#remove(existing);
          return this.#outcome(PcpResult.SUCCESS, 'deleted', existing.externalPort, 0, existing.id);
        },
        fail: (f) => this.#outcome(PcpResult.NETWORK_FAILURE, `nft: ${f}`),
      };
    }
    if (req.internalPort === 0) return this.#done(PcpResult.UNSUPP_PROTOCOL, 'mapping all ports is not supported');
    const lifetime = this.clampLifetime(req.lifetime);

    if (existing !== undefined) {
      const why = mayTouch(existing);
      if (why !== null) return this.#done(PcpResult.NOT_AUTHORIZED, why);
      const hole = this.#hole(existing.id, subject, req.protocol, req.internalPort, existing.externalPort, req.peer, lifetime, req.description);
      const renewed: Mapping = { ...existing, peer: req.peer, expiresAt: now + lifetime * 1000, hole };
      return {
        kind: 'transact',
        ops: [{ kind: 'replace', old: existing.hole, hole }],
        commit: () => {
          this.#remove(existing);
          this.#insert(renewed);
          return this.#outcome(PcpResult.SUCCESS, 'renewed', existing.externalPort, lifetime, existing.id);
        },
        fail: (f) => this.#outcome(PcpResult.NETWORK_FAILURE, `nft: ${f}`),
      };
    }

    if (this.#mappings.size >= cfg.maxMappings) return this.#done(PcpResult.NO_RESOURCES, 'mapping table full');
    let perHost = 0;
    for (const m of this.#mappings.values()) if (m.subject === subject) perHost++;
    if (perHost >= cfg.maxPerHost) return this.#done(PcpResult.USER_EX_QUOTA, `${subject} holds ${perHost} mappings`);
    const wrongAddress = req.suggestedAddress !== '::' && req.suggestedAddress !== '0.0.0.0' && req.suggestedAddress !== cfg.externalAddress;
    if (req.preferFailure) {
      if (wrongAddress) return this.#done(PcpResult.CANNOT_PROVIDE_EXTERNAL, `external address ${req.suggestedAddress} not available`);
      const [lo, hi] = cfg.portRange;
      if (req.suggestedPort < lo || req.suggestedPort > hi || this.#byExternal.has(`${req.protocol}/${req.suggestedPort}`)) {
        return this.#done(PcpResult.CANNOT_PROVIDE_EXTERNAL, `external port ${req.suggestedPort} not available`);
      }
    }
    const externalPort = this.#allocatePort(req.protocol, req.suggestedPort);
    if (externalPort === null) return this.#done(PcpResult.NO_RESOURCES, 'no free external port');
    const id = `map-${++this.#seq}`;
    const hole = this.#hole(id, subject, req.protocol, req.internalPort, externalPort, req.peer, lifetime, req.description);
    const m: Mapping = {
      id,
      nonce: req.nonce,
      subject,
      requester: req.source,
      protocol: req.protocol,
      internalPort: req.internalPort,
      externalPort,
      peer: req.peer,
      expiresAt: now + lifetime * 1000,
      hole,
      natpmp: req.natpmp,
    };
    return {
      kind: 'transact',
      ops: [{ kind: 'open', hole }],
      commit: () => {
        this.#insert(m);
        return this.#outcome(PcpResult.SUCCESS, 'created', externalPort, lifetime, id);
      },
      fail: (f) =>
        f === 'exists'
          ? this.#outcome(PcpResult.CANNOT_PROVIDE_EXTERNAL, 'external port in use in the firewall')
          : this.#outcome(PcpResult.NETWORK_FAILURE, `nft: ${f}`),
    };
  }

  /** Handles one PCP datagram (version octet 2 or unknown ≠ 0). `null` = silently dropped. */
  handlePcp(bytes: Uint8Array, source: string): Action<Uint8Array | null> & { readonly log: PcpLogEntry } {
    const d = decodePcpRequest(bytes);
    const epoch = (): number => this.epoch();
    if (d.kind === 'silent') return { kind: 'done', value: null, log: { msg: `drop: ${d.reason}` } };
    if (d.kind === 'error') {
      const lifetime = PCP_LONG_ERROR_LIFETIME_S;
      const bodyLen = d.opcode === PcpOpcode.MAP ? PCP_MAP_BODY_SIZE : d.opcode === PcpOpcode.PEER ? PCP_PEER_BODY_SIZE : 0;
      const withBody = bodyLen > 0 && bytes.length >= PCP_HEADER_SIZE + bodyLen && d.result !== PcpResult.UNSUPP_VERSION;
      // RFC 6887 §7.2: an error response carries the request's opcode-specific data.
      const map = withBody ? readMapBody(bytes, PCP_HEADER_SIZE) : undefined;
      const body =
        map === undefined || d.opcode !== PcpOpcode.PEER
          ? map
          : { ...map, remotePort: ((bytes[PCP_HEADER_SIZE + PCP_MAP_BODY_SIZE] ?? 0) << 8) | (bytes[PCP_HEADER_SIZE + PCP_MAP_BODY_SIZE + 1] ?? 0), remoteAddress: readPcpAddress(bytes, PCP_HEADER_SIZE + PCP_MAP_BODY_SIZE + 4) };
      const opcode = d.opcode & 0x7f;
      const value = encodePcpResponse({
        version: PCP_VERSION,
        opcode,
        result: d.result,
        lifetime,
        epoch: epoch(),
        ...(body !== undefined ? { body } : {}),
        options: NO_OPTIONS,
      });
      return { kind: 'done', value, log: { msg: `error ${d.result}: ${d.reason}` } };
    }
    const req = d.request;
    const reply = (result: PcpResultCode, lifetime: number, externalPort?: number): Uint8Array => {
      if (req.opcode === PcpOpcode.ANNOUNCE) return encodePcpResponse({ version: PCP_VERSION, opcode: req.opcode, result, lifetime, epoch: epoch(), options: NO_OPTIONS });
      const body =
        req.opcode === PcpOpcode.MAP
          ? { ...req.body, externalPort: externalPort ?? req.body.externalPort, externalAddress: result === PcpResult.SUCCESS ? this.#config.externalAddress : req.body.externalAddress }
          : req.body;
      const options = result === PcpResult.SUCCESS ? { ...req.options, description: undefined } : NO_OPTIONS;
      const { description: _d, ...opts } = options;
      void _d;
      return encodePcpResponse({ version: PCP_VERSION, opcode: req.opcode, result, lifetime, epoch: epoch(), body, options: opts });
    };
    if (req.clientAddress !== source) {
      return { kind: 'done', value: reply(PcpResult.ADDRESS_MISMATCH, PCP_LONG_ERROR_LIFETIME_S), log: { msg: `ADDRESS_MISMATCH: client field ${req.clientAddress}` } };
    }
    if (req.opcode === PcpOpcode.ANNOUNCE) return { kind: 'done', value: reply(PcpResult.SUCCESS, 0), log: { msg: 'announce' } };
    if (req.opcode === PcpOpcode.PEER) {
      return { kind: 'done', value: reply(PcpResult.UNSUPP_OPCODE, PCP_LONG_ERROR_LIFETIME_S), log: { msg: 'PEER not supported' } };
    }
    // FILTER: prefix 0 clears; otherwise one IPv4 /32 peer (our sets hold one peer per mapping).
    let peer: string | null = null;
    const live = req.options.filters.filter((f) => f.prefixLength !== 0);
    const cleared = req.options.filters.some((f) => f.prefixLength === 0);
    if (!cleared && live.length > 0) {
      const peers = new Set(live.map((f) => f.remoteAddress));
      const f = live[0];
      if (f === undefined || peers.size > 1 || f.prefixLength !== 128 || !isIpv4(f.remoteAddress) || live.some((x) => x.remotePort !== 0)) {
        return { kind: 'done', value: reply(PcpResult.EXCESSIVE_REMOTE_PEERS, PCP_LONG_ERROR_LIFETIME_S), log: { msg: 'FILTER not installable (one IPv4 /32 peer, port 0)' } };
      }
      peer = f.remoteAddress;
    }
    const action = this.map({
      source,
      ...(req.options.thirdParty !== undefined ? { thirdParty: req.options.thirdParty } : {}),
      nonce: hex(req.body.nonce),
      protocol: req.body.protocol,
      internalPort: req.body.internalPort,
      suggestedPort: req.body.externalPort,
      suggestedAddress: req.body.externalAddress,
      preferFailure: req.options.preferFailure,
      peer,
      lifetime: req.lifetime,
      ...(req.options.description !== undefined ? { description: req.options.description } : {}),
      natpmp: false,
    });
    const toBytes = (o: MapOutcome): Uint8Array => reply(o.result, o.lifetime, o.result === PcpResult.SUCCESS ? o.externalPort : undefined);
    if (action.kind === 'done') return { kind: 'done', value: toBytes(action.value), log: mapLog('MAP', action.value) };
    let log: PcpLogEntry = { msg: 'MAP transact' };
    return {
      kind: 'transact',
      ops: action.ops,
      commit: (now) => {
        const o = action.commit(now);
        log = mapLog('MAP', o);
        return toBytes(o);
      },
      fail: (f, now) => toBytes(action.fail(f, now)),
      get log() {
        return log;
      },
    };
  }

  /** Handles one NAT-PMP (version 0) datagram. */
  handleNatpmp(bytes: Uint8Array, source: string): Action<Uint8Array | null> & { readonly log: PcpLogEntry } {
    const d = decodeNatpmpRequest(bytes);
    const epoch = this.epoch();
    if (d.kind === 'silent') return { kind: 'done', value: null, log: { msg: `drop: ${d.reason}` } };
    if (d.kind === 'error') return { kind: 'done', value: encodeNatpmpResponse({ op: d.op, result: d.result, epoch, headerOnly: true }), log: { msg: `natpmp error ${d.result}` } };
    const req = d.request;
    if (req.op === NatpmpOpcode.ADDRESS) {
      return { kind: 'done', value: encodeNatpmpResponse({ op: req.op, result: NatpmpResult.SUCCESS, epoch, address: this.#config.externalAddress }), log: { msg: 'natpmp address' } };
    }
    const protocol = req.op === NatpmpOpcode.MAP_TCP ? IPPROTO_TCP : IPPROTO_UDP;
    const reply = (o: MapOutcome): Uint8Array =>
      encodeNatpmpResponse({
        op: req.op,
        result: toNatpmpResult(o.result),
        epoch: this.epoch(),
        internalPort: req.internalPort,
        externalPort: o.result === PcpResult.SUCCESS ? o.externalPort : 0,
        lifetime: o.result === PcpResult.SUCCESS ? o.lifetime : 0,
      });
    if (req.lifetime === 0 && req.internalPort === 0) {
      // RFC 6886 §3.4: delete all of this client's mappings for the protocol.
      const mine = this.mappings().filter((m) => m.natpmp && m.requester === source && m.protocol === protocol);
      return {
        kind: 'transact',
        ops: mine.map((m) => ({ kind: 'close' as const, hole: m.hole })),
        commit: () => {
          for (const m of mine) this.#remove(m);
          return reply({ result: PcpResult.SUCCESS, lifetime: 0, externalPort: 0, reason: 'all deleted' });
        },
        fail: (f) => reply(this.#outcome(PcpResult.NETWORK_FAILURE, `nft: ${f}`)),
        log: { msg: `natpmp delete all (${mine.length})` },
      };
    }
    const action = this.map({
      source,
      nonce: NATPMP_NONCE,
      protocol,
      internalPort: req.internalPort,
      suggestedPort: req.externalPort,
      suggestedAddress: '::',
      preferFailure: false,
      peer: null,
      lifetime: req.lifetime,
      natpmp: true,
    });
    if (action.kind === 'done') {
      // RFC 6886 §3.4: a delete answers with external port 0 and lifetime 0.
      const o = action.value;
      return { kind: 'done', value: reply(req.lifetime === 0 && o.result === PcpResult.SUCCESS ? { ...o, externalPort: 0, lifetime: 0 } : o), log: mapLog('natpmp map', o) };
    }
    return {
      kind: 'transact',
      ops: action.ops,
      commit: (now) => {
        const o = action.commit(now);
        return reply(req.lifetime === 0 ? { ...o, externalPort: 0, lifetime: 0 } : o);
      },
      fail: (f, now) => reply(action.fail(f, now)),
      log: { msg: 'natpmp map' },
    };
  }

  /** The unsolicited ANNOUNCE response multicast on start (RFC 6887 §14.1.3). */
  announcement(): Uint8Array {
    return encodePcpResponse({ version: PCP_VERSION, opcode: PcpOpcode.ANNOUNCE, result: PcpResult.SUCCESS, lifetime: 0, epoch: this.epoch(), options: NO_OPTIONS });
  }
}

export function toNatpmpResult(r: PcpResultCode): number {
  switch (r) {
    case PcpResult.SUCCESS:
      return NatpmpResult.SUCCESS;
    case PcpResult.NETWORK_FAILURE:
      return NatpmpResult.NETWORK_FAILURE;
    case PcpResult.NO_RESOURCES:
    case PcpResult.USER_EX_QUOTA:
      return NatpmpResult.NO_RESOURCES;
    default:
      return NatpmpResult.NOT_AUTHORIZED;
  }
}
