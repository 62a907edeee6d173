/**
 * Pure rendering of talkgate's nftables table as `nft -j` JSON commands.
 *
 * Design verified in shared/reference/middlebox.md §3 (nft 1.0.6): timeout sets keyed
 * `peer . internal ip . proto . port`, a DNAT map keyed `peer . proto . external port`, one-shot
 * consumption of `pin4` on the first packet with a conntrack mark so retransmits pass.
 *
 * Two deployments:
 * - "own": talkgate owns table `table` (hooked base chains, forward policy drop, masquerade).
 * - "admin": talkgate lives inside an administrator's table; it manages only its own regular chains
 *   (`<prefix>prerouting`, `<prefix>postrouting`, `<prefix>forward`) and sets; the administrator
 *   jumps to them from his own hooked chains. Nothing else in the table is touched.
 */

/** nft 1.0.6 JSON command objects (libnftables-json(5)); kept loose on purpose. */
export type NftCommand = Record<string, unknown>;
export interface NftBatch {
  readonly nftables: readonly NftCommand[];
}

/** Upper bound of each set/map (elements); bounded state in the kernel. */
export const NFT_SET_SIZE = 65_536;
/** nftables standard priorities (nft(8) "PRIORITY"): dstnat -100, srcnat 100, filter 0. */
export const NFT_PRIO_DSTNAT = -100;
export const NFT_PRIO_SRCNAT = 100;
export const NFT_PRIO_FILTER = 0;
/** nft(8) "PRIORITY": mangle -150, after conntrack (-200), before dstnat (-100). */
export const NFT_PRIO_MANGLE = -150;

export type NftFamily = 'ip' | 'inet';

export interface NftTableSpec {
  readonly family: NftFamily;
  /** The table: talkgate's own, or the administrator's in "admin" deployment. */
  readonly table: string;
  readonly deployment: 'own' | 'admin';
  /** Prefix of chain and set names (admin deployment; "" in own deployment is fine). */
  readonly prefix: string;
  readonly outsideInterface: string;
  readonly insideInterface: string;
  /** Inside networks (CIDR) masqueraded behind the outside address (own deployment). */
  readonly insideNetworks: readonly string[];
  /** Outbound forwarding: "open" lets inside → outside pass; "holes" only through `out4`. */
  readonly outbound: 'open' | 'holes';
  /**
   * Own deployment only: offload established call flows to a flowtable (`<prefix>ft`, on both
   * interfaces). Set only when the kernel offers one (nft-flowtable-probe.ts, issue 17).
   */
  readonly flowtable?: boolean;
  /**
   * One node of an HA pair (docs/ha.md): the inside is SNATed to this virtual outside address
   * instead of masqueraded (masquerade picks the node's own address, which the peer of a replicated
   * flow never reaches on the other node), and, own deployment, a packet conntrack calls invalid is
   * dropped before NAT and routing (a flow not yet committed by conntrackd is never reset).
   */
  readonly haOutsideAddress?: string;
}

/** Names of the sets/maps/chains for a spec. */
export function nftNames(spec: NftTableSpec) {
  const p = spec.prefix;
  return {
    pin4: `${p}pin4`,
    open4: `${p}open4`,
    anyin4: `${p}anyin4`,
    callmark4: `${p}callmark4`,
    dnat4addr: `${p}dnat4addr`,
    dnat4port: `${p}dnat4port`,
    dnatany4addr: `${p}dnatany4addr`,
    dnatany4port: `${p}dnatany4port`,
    out4: `${p}out4`,
    pinout4: `${p}pinout4`,
    ft: `${p}ft`,
    prerouting: `${p}prerouting`,
    postrouting: `${p}postrouting`,
    forward: `${p}forward`,
    hainvalid: `${p}hainvalid`,
  } as const;
}

const IP_SADDR = { payload: { protocol: 'ip', field: 'saddr' } };
const IP_DADDR = { payload: { protocol: 'ip', field: 'daddr' } };
const L4PROTO = { meta: { key: 'l4proto' } };
const TH_DPORT = { payload: { protocol: 'th', field: 'dport' } };

function eq(left: unknown, right: unknown): NftCommand {
  return { match: { op: '==', left, right } };
}
function ctState(...states: string[]): NftCommand {
  return { match: { op: 'in', left: { ct: { key: 'state' } }, right: states.length === 1 ? states[0] : states } };
}
function iif(name: string): NftCommand {
  return eq({ meta: { key: 'iifname' } }, name);
}
function oif(name: string): NftCommand {
  return eq({ meta: { key: 'oifname' } }, name);
}
const ACCEPT = { accept: null };

/** Parses "a.b.c.d/len" into the nft JSON prefix form (a bare address is /32). */
export function nftPrefix(cidr: string): { prefix: { addr: string; len: number } } | string {
  const [addr, len] = cidr.split('/');
  if (len === undefined) return addr ?? cidr;
  return { prefix: { addr: addr ?? '', len: Number(len) } };
}

/** Set and map definitions (without table/family, which `objects()` adds). */
function setDefs(spec: NftTableSpec): NftCommand[] {
  const n = nftNames(spec);
  const base = { family: spec.family, table: spec.table, flags: ['timeout'], size: NFT_SET_SIZE };
  const key4 = ['ipv4_addr', 'ipv4_addr', 'inet_proto', 'inet_service'];
  return [
    { set: { ...base, name: n.pin4, type: key4 } },
    { set: { ...base, name: n.open4, type: key4 } },
    { set: { ...base, name: n.anyin4, type: ['ipv4_addr', 'inet_proto', 'inet_service'] } },
    { set: { ...base, name: n.out4, type: key4 } },
    // One-shot outbound holes (a call's inside party connecting out): consumed and marked like pin4.
    { set: { ...base, name: n.pinout4, type: key4 } },
    { map: { ...base, name: n.callmark4, type: key4, map: 'mark' } },
    // DNAT target split into an address map and a port map: nft 1.0.6 segfaults on a JSON-defined
    // map with concatenated data (`: ipv4_addr . inet_service`) used by a JSON dnat rule.
    { map: { ...base, name: n.dnat4addr, type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'ipv4_addr' } },
    { map: { ...base, name: n.dnat4port, type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'inet_service' } },
    { map: { ...base, name: n.dnatany4addr, type: ['inet_proto', 'inet_service'], map: 'ipv4_addr' } },
    { map: { ...base, name: n.dnatany4port, type: ['inet_proto', 'inet_service'], map: 'inet_service' } },
  ];
}

/** Whether `spec` asks for the flowtable fast path (own deployment only). */
function usesFlowtable(spec: NftTableSpec): boolean {
  return spec.flowtable === true && spec.deployment === 'own';
}

function flowtableDefs(spec: NftTableSpec): NftCommand[] {
  if (!usesFlowtable(spec)) return [];
  // nft(8) FLOWTABLES: an ingress-hook flowtable; priority 0 (filter) as in the man page's example.
  const ft = { family: spec.family, table: spec.table, name: nftNames(spec).ft, hook: 'ingress', prio: NFT_PRIO_FILTER, dev: flowtableDevices(spec) };
  return [{ flowtable: ft }];
}

/** The devices a flowtable of `spec` spans: both faces of the gateway. */
export function flowtableDevices(spec: NftTableSpec): string[] {
  return spec.outsideInterface === spec.insideInterface ? [spec.outsideInterface] : [spec.outsideInterface, spec.insideInterface];
}

function chainDefs(spec: NftTableSpec): NftCommand[] {
  const n = nftNames(spec);
  const t = { family: spec.family, table: spec.table };
  if (spec.deployment === 'admin') {
    return [{ chain: { ...t, name: n.prerouting } }, { chain: { ...t, name: n.postrouting } }, { chain: { ...t, name: n.forward } }];
  }
  return [
    ...(spec.haOutsideAddress !== undefined
      ? [{ chain: { ...t, name: n.hainvalid, type: 'filter', hook: 'prerouting', prio: NFT_PRIO_MANGLE, policy: 'accept' } }]
      : []),
    { chain: { ...t, name: n.prerouting, type: 'nat', hook: 'prerouting', prio: NFT_PRIO_DSTNAT, policy: 'accept' } },
    { chain: { ...t, name: n.postrouting, type: 'nat', hook: 'postrouting', prio: NFT_PRIO_SRCNAT, policy: 'accept' } },
    { chain: { ...t, name: n.forward, type: 'filter', hook: 'forward', prio: NFT_PRIO_FILTER, policy: 'drop' } },
  ];
}

function ruleDefs(spec: NftTableSpec): NftCommand[] {
  const n = nftNames(spec);
  const t = { family: spec.family, table: spec.table };
  const rule = (chain: string, expr: unknown[]): NftCommand => ({ rule: { ...t, chain, expr } });
  const wan = spec.outsideInterface;
  const lan = spec.insideInterface;
  const flow4 = { concat: [IP_SADDR, IP_DADDR, L4PROTO, TH_DPORT] };
  const peerKey = { concat: [IP_SADDR, L4PROTO, TH_DPORT] };
  const anyKey = { concat: [L4PROTO, TH_DPORT] };
  const dnat = (key: unknown, addr: string, port: string): NftCommand => ({
    dnat: { family: 'ip', addr: { map: { key, data: `@${addr}` } }, port: { map: { key, data: `@${port}` } } },
  });
  const rules: NftCommand[] = [
    rule(n.prerouting, [iif(wan), eq(peerKey, `@${n.dnat4addr}`), dnat(peerKey, n.dnat4addr, n.dnat4port)]),
    rule(n.prerouting, [iif(wan), eq(anyKey, `@${n.dnatany4addr}`), dnat(anyKey, n.dnatany4addr, n.dnatany4port)]),
  ];
  if (spec.insideNetworks.length > 0) {
    const nets = spec.insideNetworks.map(nftPrefix);
    const nat = spec.haOutsideAddress !== undefined ? { snat: { family: 'ip', addr: spec.haOutsideAddress } } : { masquerade: null };
    rules.push(rule(n.postrouting, [oif(wan), eq(IP_SADDR, nets.length === 1 ? nets[0] : { set: nets }), nat]));
  }
  if (spec.haOutsideAddress !== undefined && spec.deployment === 'own') {
    // A mid-stream packet of a flow conntrackd has not committed yet (nf_conntrack_tcp_loose = 0
    // makes it invalid): dropped, so the peer retransmits instead of being reset by this node.
    rules.push(rule(n.hainvalid, [ctState('invalid'), { drop: null }]));
  }
  const markNonZeroFirst = { match: { op: '!=', left: { ct: { key: 'mark' } }, right: 0 } };
  if (usesFlowtable(spec)) {
    // Only a call's flow (marked when it took its one-shot hole) is offloaded, once established.
    rules.push(rule(n.forward, [ctState('established'), markNonZeroFirst, { flow: { op: 'add', flowtable: `@${n.ft}` } }]));
  }
  if (spec.deployment === 'own') {
    rules.push(rule(n.forward, [ctState('established', 'related'), ACCEPT]));
    rules.push(rule(n.forward, [ctState('invalid'), { drop: null }]));
  }
  const markNonZero = { match: { op: '!=', left: { ct: { key: 'mark' } }, right: 0 } };
  rules.push(
    // One-shot outbound holes come first so that their flow is marked (teardown by mark) even when
    // outbound forwarding is open; a marked flow's SYN retransmits pass.
    rule(n.forward, [iif(lan), oif(wan), ctState('new'), markNonZero, ACCEPT]),
    rule(n.forward, [
      iif(lan),
      oif(wan),
      ctState('new'),
      eq(flow4, `@${n.pinout4}`),
      { mangle: { key: { ct: { key: 'mark' } }, value: { map: { key: flow4, data: `@${n.callmark4}` } } } },
      { set: { op: 'delete', elem: flow4, set: `@${n.pinout4}` } },
      ACCEPT,
    ]),
  );
  if (spec.outbound === 'open') {
    rules.push(rule(n.forward, [iif(lan), oif(wan), ACCEPT]));
  } else {
    rules.push(rule(n.forward, [iif(lan), oif(wan), ctState('new'), eq(flow4, `@${n.out4}`), ACCEPT]));
  }
  rules.push(
    // A flow that already took a one-shot hole carries its mark: its SYN retransmits pass.
    rule(n.forward, [iif(wan), ctState('new'), markNonZero, ACCEPT]),
    rule(n.forward, [iif(wan), ctState('new'), eq(flow4, `@${n.open4}`), ACCEPT]),
    rule(n.forward, [iif(wan), ctState('new'), eq({ concat: [IP_DADDR, L4PROTO, TH_DPORT] }, `@${n.anyin4}`), ACCEPT]),
    rule(n.forward, [
      iif(wan),
      ctState('new'),
      eq(flow4, `@${n.pin4}`),
      { mangle: { key: { ct: { key: 'mark' } }, value: { map: { key: flow4, data: `@${n.callmark4}` } } } },
      { set: { op: 'delete', elem: flow4, set: `@${n.pin4}` } },
      ACCEPT,
    ]),
  );
  if (spec.deployment === 'own') {
    rules.push(rule(n.forward, [{ counter: null }, { drop: null }]));
  }
  return rules;
}

/**
 * The startup batch: replaces everything of ours atomically, so nothing a previous process
 * opened survives. Own deployment: `add table` + `delete table` + the full table (nft 1.0.6 has no
 * `destroy`). Admin deployment: `add` + `flush` of our chains and sets, then our rules.
 */
export function renderReplaceTable(spec: NftTableSpec, existing: ReadonlySet<string> = new Set()): NftBatch {
  const t = { family: spec.family, name: spec.table };
  const cmds: NftCommand[] = [];
  if (spec.deployment === 'own') {
    cmds.push({ add: { table: t } }, { delete: { table: t } }, { add: { table: t } });
    for (const o of [...setDefs(spec), ...flowtableDefs(spec), ...chainDefs(spec)]) cmds.push({ add: o });
  } else {
    // `existing`: names of our sets/chains already in the administrator's table (from `nft -j list
    // table`). Those are flushed, not re-added: re-adding pin4 fails with EEXIST once a rule has
    // made the kernel mark it dynamic (and nft 1.0.6 JSON cannot declare "dynamic").
    for (const o of [...setDefs(spec), ...chainDefs(spec)]) {
      const flush = stripForFlush(o);
      const name = (Object.values(flush)[0] as { name: string }).name;
      cmds.push(existing.has(name) ? { flush } : { add: o });
    }
  }
  for (const r of ruleDefs(spec)) cmds.push({ add: r });
  return { nftables: cmds };
}

/** Names of our own chains/sets in `nft -j list table` output (admin deployment startup). */
export function nftExistingNames(spec: NftTableSpec, listJson: string): Set<string> {
  const ours = new Set<string>(Object.values(nftNames(spec)));
  const found = new Set<string>();
  const doc = JSON.parse(listJson) as { nftables?: Record<string, { name?: unknown } | undefined>[] };
  for (const o of doc.nftables ?? []) {
    for (const kind of ['set', 'map', 'chain']) {
      const name = o[kind]?.name;
      if (typeof name === 'string' && ours.has(name)) found.add(name);
    }
  }
  return found;
}

/** Removal on exit: own table deleted; in admin deployment our chains and sets are flushed. */
export function renderRemoveTable(spec: NftTableSpec): NftBatch {
  if (spec.deployment === 'own') {
    return { nftables: [{ delete: { table: { family: spec.family, name: spec.table } } }] };
  }
  return { nftables: [...setDefs(spec), ...chainDefs(spec)].map((o) => ({ flush: stripForFlush(o) })) };
}

/** Flushes every hole (all sets and maps) while keeping the rules. */
export function renderFlushHoles(spec: NftTableSpec): NftBatch {
  return { nftables: setDefs(spec).map((o) => ({ flush: stripForFlush(o) })) };
}

function stripForFlush(o: NftCommand): NftCommand {
  const [kind, body] = Object.entries(o)[0] as [string, Record<string, unknown>];
  return { [kind]: { family: body['family'], table: body['table'], name: body['name'] } };
}
