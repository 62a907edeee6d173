/**
 * Pure rendering of transparent mode's interception: an nftables table of its own that hands talk
 * control datagrams crossing the gateway to a local tproxy socket, plus the policy routing tproxy
 * needs. Nothing here touches the system (see intercept-installer.ts).
 *
 *   table ip talkgate_intercept {
 *     chain prerouting {
 *       type filter hook prerouting priority mangle; policy accept;
 *       iifname "INSIDE" udp dport { 517, 518 } fib daddr type != local fib daddr oifname "OUTSIDE"
 *         meta mark set MARK tproxy to :PORT comment "talkgate outbound"
 *       # only with inbound = true (inside addresses routable from outside):
 *       iifname "OUTSIDE" udp dport { 517, 518 } fib daddr type != local fib daddr oifname "INSIDE"
 *         meta mark set MARK tproxy to :PORT comment "talkgate inbound"
 *       # only with inboundReplies = true (the gateway announced to an inside daemon *from* the real
 *       # outside caller's address and port PORT; the daemon's answer heads outside to it):
 *       iifname "INSIDE" udp sport { 517, 518 } udp dport PORT fib daddr type != local
 *         fib daddr oifname "OUTSIDE" meta mark set MARK tproxy to :PORT comment "talkgate inbound replies"
 *     }
 *   }
 *   ip rule add fwmark MARK lookup TABLE pref PREF
 *   ip route replace local 0.0.0.0/0 dev lo table TABLE
 *
 * - `fib daddr type != local`: datagrams addressed to the gateway itself are never intercepted.
 * - `fib daddr oifname X`: only datagrams the routing table would forward across (inside → outside,
 *   or outside → inside) are intercepted; the chain's policy is accept, so every other packet goes
 *   on to the forward hook, where the gateway's filter (policy drop) decides.
 * - Verified with nft 1.0.6 / kernel 6.18 (test/lab/transparent-intercept.test.ts). In family inet a
 *   `meta nfproto ipv4` match comes first (tproxy `ip` only applies to IPv4; talk is IPv4 only).
 * - The intercepted datagrams then pass the *input* hook with mark MARK: a gateway filter with an
 *   input policy drop must accept `meta mark MARK` (or udp dport PORT).
 */
import { NTALK_PORT, OTALK_PORT } from '../../protocol/constants.js';
import { nftComment } from '../nft-comment.js';
import type { NftBatch, NftCommand, NftFamily } from '../nft-ruleset.js';

/** nft(8) PRIORITY "mangle" (-150): before conntrack-independent routing decisions of filter (0). */
export const NFT_PRIO_MANGLE = -150;
export const DEFAULT_INTERCEPT_TABLE = 'talkgate_intercept';
/** Default packet mark of intercepted datagrams (ASCII "tg"). */
export const DEFAULT_INTERCEPT_MARK = 0x7467;
/** Default policy-routing table holding `local 0.0.0.0/0 dev lo`. */
export const DEFAULT_INTERCEPT_ROUTE_TABLE = 7467;
/** Default `ip rule` preference: before the main table's rule (32766). */
export const DEFAULT_INTERCEPT_RULE_PREF = 9467;
/** The talk control ports intercepted by default: otalk 517, ntalk 518. */
export const DEFAULT_INTERCEPT_PORTS: readonly number[] = [OTALK_PORT, NTALK_PORT];
/**
 * Default tproxy target port of transparent mode. It is also the source port of the requests the
 * gateway sends to inside daemons from a foreign address, so it must be >= 1024: Debian's netkit
 * talkd drops datagrams from privileged source ports (patch 0.17-10). Outside the default relay
 * range (40000-40999) and the control ports.
 */
export const DEFAULT_TPROXY_PORT = 15518;
/** Linux IFNAMSIZ (16) minus the terminating NUL. */
const MAX_IFNAME = 15;
/** nft object names: identifiers, bounded. */
const MAX_NFT_NAME = 64;
/** Route tables 253 (default), 254 (main), 255 (local) and 0 (unspec) are the kernel's. */
const RESERVED_ROUTE_TABLES: readonly number[] = [0, 253, 254, 255];

export interface InterceptSpec {
  readonly family: NftFamily;
  readonly table: string;
  readonly insideInterface: string;
  readonly outsideInterface: string;
  /** Local port of the transparent socket the datagrams are delivered to. */
  readonly port: number;
  /** Intercepted destination ports (default 517, 518). */
  readonly ports: readonly number[];
  /** Also intercept outside → inside (only where inside addresses are routable from outside). */
  readonly inbound: boolean;
  /**
   * Also intercept inside daemons' answers (udp sport in `ports`, dport `port`) heading outside:
   * transparent mode announces inbound calls from the real caller's address with source port
   * `port`, so the answer is addressed to the caller and must be taken back by the gateway.
   */
  readonly inboundReplies: boolean;
  readonly mark: number;
  readonly routeTable: number;
  readonly rulePref: number;
}

export type InterceptSpecInput = Pick<InterceptSpec, 'insideInterface' | 'outsideInterface' | 'port'> & Partial<InterceptSpec>;

/** Fills defaults and validates; throws RangeError naming the bad field. */
export function interceptSpec(input: InterceptSpecInput): InterceptSpec {
  const spec: InterceptSpec = {
    family: input.family ?? 'ip',
    table: input.table ?? DEFAULT_INTERCEPT_TABLE,
    insideInterface: input.insideInterface,
    outsideInterface: input.outsideInterface,
    port: input.port,
    ports: input.ports ?? DEFAULT_INTERCEPT_PORTS,
    inbound: input.inbound ?? false,
    inboundReplies: input.inboundReplies ?? false,
    mark: input.mark ?? DEFAULT_INTERCEPT_MARK,
    routeTable: input.routeTable ?? DEFAULT_INTERCEPT_ROUTE_TABLE,
    rulePref: input.rulePref ?? DEFAULT_INTERCEPT_RULE_PREF,
  };
  if (spec.family !== 'ip' && spec.family !== 'inet') throw new RangeError(`family must be ip or inet: ${String(spec.family)}`);
  if (!new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${MAX_NFT_NAME - 1}}$`).test(spec.table)) throw new RangeError(`table: not an nft identifier: ${JSON.stringify(spec.table)}`);
  for (const [field, name] of [['insideInterface', spec.insideInterface], ['outsideInterface', spec.outsideInterface]] as const) {
    if (!new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_IFNAME}}$`).test(name)) throw new RangeError(`${field}: not an interface name: ${JSON.stringify(name)}`);
  }
  if (spec.insideInterface === spec.outsideInterface) throw new RangeError('insideInterface and outsideInterface must differ');
  const port = (field: string, p: number): void => {
    if (!Number.isInteger(p) || p < 1 || p > 0xffff) throw new RangeError(`${field}: port out of range: ${p}`);
  };
  port('port', spec.port);
  if (spec.ports.length === 0 || spec.ports.length > 16) throw new RangeError('ports: 1 to 16 ports');
  for (const p of spec.ports) port('ports', p);
  if (new Set(spec.ports).size !== spec.ports.length) throw new RangeError('ports: duplicates');
  if (!Number.isInteger(spec.mark) || spec.mark < 1 || spec.mark > 0xffffffff) throw new RangeError(`mark out of range: ${spec.mark}`);
  if (!Number.isInteger(spec.routeTable) || spec.routeTable < 1 || spec.routeTable > 0xffffffff || RESERVED_ROUTE_TABLES.includes(spec.routeTable)) {
    throw new RangeError(`routeTable out of range or reserved: ${spec.routeTable}`);
  }
  if (!Number.isInteger(spec.rulePref) || spec.rulePref < 1 || spec.rulePref >= 32766) throw new RangeError(`rulePref must be 1..32765: ${spec.rulePref}`);
  return spec;
}

const CHAIN = 'prerouting';

function match(op: '==' | '!=', left: unknown, right: unknown): NftCommand {
  return { match: { op, left, right } };
}

function interceptRule(spec: InterceptSpec, from: string, to: string, comment: string, replies = false): NftCommand {
  const expr: NftCommand[] = [];
  if (spec.family === 'inet') expr.push(match('==', { meta: { key: 'nfproto' } }, 'ipv4'));
  const talkPorts = spec.ports.length === 1 ? spec.ports[0] : { set: [...spec.ports] };
  expr.push(match('==', { meta: { key: 'iifname' } }, from));
  if (replies) {
    expr.push(
      match('==', { payload: { protocol: 'udp', field: 'sport' } }, talkPorts),
      match('==', { payload: { protocol: 'udp', field: 'dport' } }, spec.port),
    );
  } else {
    expr.push(match('==', { payload: { protocol: 'udp', field: 'dport' } }, talkPorts));
  }
  expr.push(
    match('!=', { fib: { result: 'type', flags: ['daddr'] } }, 'local'),
    match('==', { fib: { result: 'oifname', flags: ['daddr'] } }, to),
    { mangle: { key: { meta: { key: 'mark' } }, value: spec.mark } },
    { tproxy: spec.family === 'inet' ? { family: 'ip', port: spec.port } : { port: spec.port } },
  );
  return { rule: { family: spec.family, table: spec.table, chain: CHAIN, comment: nftComment(comment), expr } };
}

/**
 * The install batch, one transaction: `add table` (no-op when it exists), `delete table` (so a
 * table left by a kill -9'd process is replaced, with no window where half of it applies), then
 * the table, its chain and rules.
 */
export function renderInstallIntercept(spec: InterceptSpec): NftBatch {
  const t = { family: spec.family, name: spec.table };
  const cmds: NftCommand[] = [
    { add: { table: t } },
    { delete: { table: t } },
    { add: { table: t } },
    {
      add: {
        chain: { family: spec.family, table: spec.table, name: CHAIN, type: 'filter', hook: 'prerouting', prio: NFT_PRIO_MANGLE, policy: 'accept' },
      },
    },
    { add: interceptRule(spec, spec.insideInterface, spec.outsideInterface, 'talkgate outbound') },
  ];
  if (spec.inbound) cmds.push({ add: interceptRule(spec, spec.outsideInterface, spec.insideInterface, 'talkgate inbound') });
  if (spec.inboundReplies) cmds.push({ add: interceptRule(spec, spec.insideInterface, spec.outsideInterface, 'talkgate inbound replies', true) });
  return { nftables: cmds };
}

/** Removal that also succeeds when the table is already gone: `add table` + `delete table`. */
export function renderRemoveIntercept(spec: InterceptSpec): NftBatch {
  const t = { family: spec.family, name: spec.table };
  return { nftables: [{ add: { table: t } }, { delete: { table: t } }] };
}

export interface PolicyRoutingCommands {
  /** `ip` argv (without the program) deleting one copy of our rule; repeat until it fails. */
  readonly deleteRule: readonly string[];
  readonly addRule: readonly string[];
  /** Idempotent (`replace`). */
  readonly addRoute: readonly string[];
  /** Fails harmlessly when the route is absent. */
  readonly deleteRoute: readonly string[];
}

/** The `ip rule` / `ip route` argv lists for tproxy's local delivery of marked packets. */
export function renderPolicyRouting(spec: InterceptSpec): PolicyRoutingCommands {
  const mark = `0x${spec.mark.toString(16)}`;
  const table = String(spec.routeTable);
  return {
    deleteRule: ['-4', 'rule', 'del', 'fwmark', mark, 'lookup', table],
    addRule: ['-4', 'rule', 'add', 'fwmark', mark, 'lookup', table, 'pref', String(spec.rulePref)],
    addRoute: ['-4', 'route', 'replace', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', table],
    deleteRoute: ['-4', 'route', 'del', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', table],
  };
}
