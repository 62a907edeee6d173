/**
 * The `talkgate gateway` configuration: the TOML schema (zod), validated once at load time into
 * a typed, normalised {@link GatewayConfig}. Every limit has a named default below.
 */
import { z } from 'zod';
import { isIPv4 } from '../protocol/wire.js';
import { parseCidr, type Ipv4Cidr } from '../shared/ipv4-cidr.js';
import { parsePortRange } from '../shared/port-range.js';
import { MAX_LIFE_MS, NTALK_PORT, OTALK_PORT } from '../protocol/constants.js';
import { DEFAULT_INTERCEPT_TABLE, DEFAULT_TPROXY_PORT } from '../firewall/intercept/intercept-ruleset.js';

/** Default nftables table of the pinhole mode (own deployment). */
export const DEFAULT_PINHOLE_TABLE = 'talkgate_pinhole';
/** Default prefix of our chains/sets inside an administrator's table (admin deployment). */
export const DEFAULT_PINHOLE_PREFIX = 'talkgate_';
/** Default external port range of the DNAT holes (disjoint from the relay's 40000-40999). */
export const DEFAULT_PINHOLE_PORTS = '41000-41999';
/**
 * A hole lives as long as the invitation it carries: talkd.h MAX_LIFE. A caller that keeps
 * ringing longer re-announces (RING_WAIT), which opens a fresh call and a fresh hole.
 */
export const DEFAULT_HOLE_TIMEOUT_S = MAX_LIFE_MS / 1000;
/** The gateway modes, each one wiring of an ingress and a data path (src/gateway/modes/). */
export const GATEWAY_MODES = ['classical', 'transparent', 'pinhole'] as const;
export type GatewayMode = (typeof GATEWAY_MODES)[number];

/** Default admin listener: loopback only (issue 4 "admin listener (loopback by default)"). */
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9518';
/** Most `[admin] hosts` names (a bounded allow-list; each is one Host-header authority). */
export const ADMIN_MAX_HOST_NAMES = 32;
/** Shortest admin token accepted (128 bits as 22+ base64 chars; 16 keeps hand-typed tokens usable). */
export const ADMIN_MIN_TOKEN_LENGTH = 16;
/** Default relay port range (issue 4 example). */
export const DEFAULT_RELAY_PORTS = '40000-40999';
/** Default TCP port of the TLS link between peer gateways ([peering] port; unassigned, unprivileged). */
export const DEFAULT_PEERING_PORT = 5519;
/** Most configured peer gateways (a bounded allow-list). */
export const MAX_PEERS = 64;
/**
 * Longest peer name: a peer is named in a talk name (`bob%gw2`, `alice%gw1`) that must fit the
 * ntalk l_name/r_name (NAME_SIZE 12, minus its NUL) with a user, so short names only.
 */
export const MAX_PEER_NAME = 8;
/** Default relay idle timeout, seconds. */
export const DEFAULT_IDLE_TIMEOUT_S = 600;
/** Default maximum call duration, seconds (4 h). */
export const DEFAULT_MAX_DURATION_S = 14_400;
/** Default cap on concurrent calls. */
export const DEFAULT_MAX_CALLS = 256;
/** Default per-source control-request rate: requests per second, sustained. */
export const DEFAULT_RATE_PER_SECOND = 20;
/** Default per-source burst (token bucket size). */
export const DEFAULT_RATE_BURST = 40;
/**
 * Default global bound on new-call requests (ANNOUNCEs that would start a call), per side, per
 * second, whatever their source: spoofed sources each pass the per-source limit, this caps what a
 * flood of them costs (audit lines, resolver, relay listeners). A real site starts a few calls a
 * minute; 50/s sustained with a burst of 100 leaves ample room (and stays above one flooding
 * source's per-source allowance, so a single-source flood cannot starve the side either).
 */
export const DEFAULT_GLOBAL_RATE_PER_SECOND = 50;
/** Default global new-call burst (token bucket size), per side. */
export const DEFAULT_GLOBAL_RATE_BURST = 100;
/**
 * Fair shares of the call table (issue 18: 80 ANNOUNCEs from one address at 15/s, under the
 * per-source rate, took all 64 `max_calls` slots). Default live calls whose caller is one source
 * address: a multi-user inside host still has room, one flooding address holds 1/16 of the table.
 */
export const DEFAULT_CALLS_PER_SOURCE = 16;
/** Default live calls whose outside caller lies in one outside network of `network_prefix` bits (a quarter of the table). */
export const DEFAULT_CALLS_PER_NETWORK = 64;
/** Default prefix length grouping outside callers into one network (an IPv4 /24, the usual smallest routed block). */
export const DEFAULT_NETWORK_PREFIX = 24;
/**
 * Default distinct pending (not yet connected) calls that may ring one callee at once. A person
 * answers one call at a time; four leaves room for a few genuine callers while a flood of distinct
 * callers rings a terminal at most four times (one pending call per caller address and callee).
 */
export const DEFAULT_PENDING_PER_CALLEE = 4;
/**
 * Default share of `max_calls` kept for each side's callers whatever the other side does, so an
 * outside flood cannot starve the inside's outbound calls nor the reverse (a side may use more
 * while the other side leaves its share unused).
 */
export const DEFAULT_SIDE_RESERVE = 0.25;
/** Upper bound on configured concurrent calls (the call table is bounded by it). */
export const MAX_CONFIGURABLE_CALLS = 100_000;

const ipv4 = z.string().refine(isIPv4, { message: 'must be a dotted-quad IPv4 address' });
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, { message: 'must be an IPv4 network like 10.1.0.0/24' });
const port = z.number().int().min(1).max(65_535);
const seconds = z.number().positive().max(7 * 24 * 3600);
const hostName = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;
const hostsTable = z.record(z.string().regex(hostName, 'must be a host name'), ipv4);
const userName = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;

const daemonPorts = z.strictObject({ ntalk: port.default(NTALK_PORT), otalk: port.default(OTALK_PORT) });

const side = z.strictObject({
  address: ipv4,
  interface: z.string().min(1).max(15).optional(),
  hosts: hostsTable.default({}),
  /** Ports of the talk daemons on this side that the gateway calls. */
  daemon_ports: daemonPorts.prefault({}),
});

/** `"LOW-HIGH"`, the one range syntax of talkgate's files (src/shared/port-range.ts). */
export const portRangeSchema = z.string().transform((s, ctx) => {
  const r = parsePortRange(s);
  if (r === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a port range like "40000-40999" (low <= high, 1-65535)' });
    return z.NEVER;
  }
  return r;
});
const portRange = portRangeSchema;

const directoryTarget = z.string().regex(/^[^@%\s]{1,31}@[A-Za-z0-9.-]{1,253}$/, 'must be "user@host"');

const policyRule = z.strictObject({
  action: z.enum(['allow', 'deny']),
  direction: z.enum(['inbound', 'outbound', 'any']).default('any'),
  user: z.string().regex(userName, 'must be a login name or "*"').or(z.literal('*')).default('*'),
  remote: z
    .string()
    .refine((s) => s === '*' || parseCidr(s) !== undefined || hostName.test(s), {
      message: 'must be "*", an IPv4 network (CIDR) or a host name',
    })
    .default('*'),
});

/** Interception settings ([transparent]): the tproxy port (>= 1024, see DEFAULT_TPROXY_PORT) and the nft table. */
const interceptionSection = z
  .strictObject({
    port: z.number().int().min(1024).max(65_535).default(DEFAULT_TPROXY_PORT),
    table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be an nft identifier').default(DEFAULT_INTERCEPT_TABLE),
  })
  .prefault({});

/** [pinhole]: nftables holes instead of the relay (src/gateway/pinhole/). */
const pinholeSection = z
  .strictObject({
    /** Our own table (own_firewall) or the administrator's table we add our chains/sets to. */
    table: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'must be an nftables table name').default(DEFAULT_PINHOLE_TABLE),
    own_firewall: z.boolean().default(true),
    /** Prefix of our chains and sets inside the administrator's table (own_firewall = false). */
    prefix: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,15}$/, 'must be letters, digits, _').default(DEFAULT_PINHOLE_PREFIX),
    ports: portRange.prefault(DEFAULT_PINHOLE_PORTS),
    hole_timeout: z.number().int().min(1).max(3600).default(DEFAULT_HOLE_TIMEOUT_S),
    /** Inside → outside forwarding: "holes" (only a call's own hole) or "open". */
    outbound: z.enum(['open', 'holes']).default('holes'),
    /** Also intercept inside users' control messages to outside daemons (`talk bob@<outside IP>`). */
    intercept: z.boolean().default(true),
    /** How nftables is driven: "lib" (libnftables in process; falls back to exec) or "exec" (`nft -j` per batch). */
    nft: z.enum(['lib', 'exec']).default('lib'),
  })
  .prefault({});

/** [middlebox] (pinhole mode): holes requested from a remote PCP middlebox (src/gateway/pinhole/pcp-data-path.ts). */
const middleboxSection = z.strictObject({
  pcp: z.string().refine(isIPv4, 'must be an IPv4 address (the PCP server)'),
  port: z.number().int().min(1).max(65_535).default(5351),
});

/** Default unix socket of the privileged process that `talkgate ha notify` talks to (root only, 0600). */
export const DEFAULT_HA_CONTROL_SOCKET = '/run/talkgate/ha.sock';
/** Debian's conntrackd and its default configuration file (conntrack-tools). */
export const DEFAULT_CONNTRACKD = '/usr/sbin/conntrackd';
export const DEFAULT_CONNTRACKD_CONFIG = '/etc/conntrackd/conntrackd.conf';

/**
 * [ha]: one node of an active/backup pair (docs/ha.md). The `inside`/`outside` addresses are the
 * pair's virtual addresses (keepalived moves them); this node binds them before it owns them.
 */
const haSection = z.strictObject({
  /** The role until keepalived's notify script says otherwise; backup serves nothing. */
  role: z.enum(['backup', 'master']).default('backup'),
  control_socket: z.string().regex(/^\/[\x21-\x7e]{1,100}$/, 'must be an absolute path').default(DEFAULT_HA_CONTROL_SOCKET),
  /** conntrackd program and configuration (`talkgate ha notify` commits/resyncs through them); "" = no conntrackd. */
  conntrackd: z.string().regex(/^(\/[\x21-\x7e]{1,200})?$/, 'must be an absolute path or ""').default(DEFAULT_CONNTRACKD),
  conntrackd_config: z.string().regex(/^\/[\x21-\x7e]{1,200}$/, 'must be an absolute path').default(DEFAULT_CONNTRACKD_CONFIG),
});

/** The keys every mode shares (snake_case as written in the file). */
const commonSchema = {
  inside: side.extend({
    networks: z.array(cidr).min(1),
    /** Inbound callers may name inside hosts directly (`alice%host`). */
    allow_host_names: z.boolean().default(false),
  }),
  outside: side.extend({
    /** Resolve outside names not in `hosts` through the system resolver (outside context). */
    dns: z.boolean().default(true),
  }),
  ports: z.strictObject({ ntalk: port.default(NTALK_PORT), otalk: port.default(OTALK_PORT) }).prefault({}),
  relay: z
    .strictObject({
      ports: portRange.prefault(DEFAULT_RELAY_PORTS),
      idle_timeout: seconds.default(DEFAULT_IDLE_TIMEOUT_S),
      max_duration: seconds.default(DEFAULT_MAX_DURATION_S),
      sanitize: z.boolean().default(true),
    })
    .prefault({}),
  directory: z.record(z.string().regex(userName, 'must be a login name'), directoryTarget).default({}),
  policy: z.array(policyRule).default([]),
  limits: z
    .strictObject({
      max_calls: z.number().int().min(1).max(MAX_CONFIGURABLE_CALLS).default(DEFAULT_MAX_CALLS),
      rate: z.number().positive().max(1_000_000).default(DEFAULT_RATE_PER_SECOND),
      burst: z.number().int().min(1).max(1_000_000).default(DEFAULT_RATE_BURST),
      global_rate: z.number().positive().max(1_000_000).default(DEFAULT_GLOBAL_RATE_PER_SECOND),
      global_burst: z.number().int().min(1).max(1_000_000).default(DEFAULT_GLOBAL_RATE_BURST),
      /** Live calls whose caller is one source address. */
      calls_per_source: z.number().int().min(1).max(MAX_CONFIGURABLE_CALLS).default(DEFAULT_CALLS_PER_SOURCE),
      /** Live calls whose outside caller lies in one network of `network_prefix` bits. */
      calls_per_network: z.number().int().min(1).max(MAX_CONFIGURABLE_CALLS).default(DEFAULT_CALLS_PER_NETWORK),
      network_prefix: z.number().int().min(8).max(32).default(DEFAULT_NETWORK_PREFIX),
      /** Distinct pending calls ringing one callee at once. */
      pending_per_callee: z.number().int().min(1).max(MAX_CONFIGURABLE_CALLS).default(DEFAULT_PENDING_PER_CALLEE),
      /** Share of max_calls (0 to 0.5) each side's callers can always get. */
      side_reserve: z.number().min(0).max(0.5).default(DEFAULT_SIDE_RESERVE),
    })
    .prefault({}),
  audit: z.strictObject({ file: z.string().min(1) }).optional(),
  admin: z
    .strictObject({
      listen: z
        .string()
        .regex(/^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/, 'must be "address:port"')
        .or(z.literal('off')),
      /** Host names (besides the listen address) the admin listener answers under; others get 421 (issue 18). */
      hosts: z
        .array(z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'must be a host name or address'))
        .max(ADMIN_MAX_HOST_NAMES)
        .default([]),
      /** Bearer token for state-changing admin actions (end a call); without one the page is read-only (issue 16). */
      token: z.string().regex(/^[\x21-\x7e]+$/, 'must be visible ASCII').min(ADMIN_MIN_TOKEN_LENGTH).max(256).optional(),
      /** PEM certificate and key files: the admin listener then speaks HTTPS. */
      tls_cert: z.string().min(1).optional(),
      tls_key: z.string().min(1).optional(),
    })
    .superRefine((a, ctx) => {
      if ((a.tls_cert === undefined) !== (a.tls_key === undefined)) {
        ctx.addIssue({ code: 'custom', path: [a.tls_cert === undefined ? 'tls_cert' : 'tls_key'], message: 'tls_cert and tls_key go together' });
      }
      const host = a.listen === 'off' ? undefined : a.listen.slice(0, a.listen.lastIndexOf(':'));
      if (host !== undefined && !/^127\./.test(host) && a.token === undefined) {
        ctx.addIssue({ code: 'custom', path: ['token'], message: `required when listen is not a loopback address (${host}): set a token of ${ADMIN_MIN_TOKEN_LENGTH}+ chars` });
      }
    })
    .default({ listen: DEFAULT_ADMIN_LISTEN, hosts: [] }),
  /**
   * Peer gateways (issue 15): other talkgates this one reaches over a mutually authenticated TLS
   * link (control exchange and conversation). `cert`/`key` are this gateway's, `ca` the PEM
   * certificate(s) a peer's certificate must chain to; a peer's certificate must also name it
   * (CN or a DNS subjectAltName = `name`), and match `fingerprint` (SHA-256) when one is pinned.
   */
  peering: z
    .strictObject({
      port: port.default(DEFAULT_PEERING_PORT),
      cert: z.string().min(1),
      key: z.string().min(1),
      ca: z.string().min(1),
      peers: z
        .array(
          z.strictObject({
            name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/, `must be a lowercase host name of at most ${MAX_PEER_NAME} characters`),
            address: ipv4,
            fingerprint: z.string().regex(/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'must be a SHA-256 fingerprint (hex, colons optional)').optional(),
          }),
        )
        .min(1)
        .max(MAX_PEERS),
    })
    .superRefine((p, ctx) => {
      const names = new Set<string>();
      const addrs = new Set<string>();
      p.peers.forEach((peer, i) => {
        if (names.has(peer.name)) ctx.addIssue({ code: 'custom', path: ['peers', i, 'name'], message: `duplicate peer name ${peer.name}` });
        if (addrs.has(peer.address)) ctx.addIssue({ code: 'custom', path: ['peers', i, 'address'], message: `duplicate peer address ${peer.address}` });
        names.add(peer.name);
        addrs.add(peer.address);
      });
    })
    .optional(),
  /** Who the unprivileged worker runs as (default nobody), when started with privileges. */
  privileges: z.strictObject({ user: z.string().min(1), group: z.string().min(1).optional() }).optional(),
  ha: haSection.optional(),
};

/**
 * The raw TOML shape: a discriminated union on `mode` (absent = "classical"), each mode with
 * its own sections; a section of another mode is an unknown key.
 */
export const gatewayConfigSchema = z.preprocess(
  (doc) => (doc !== null && typeof doc === 'object' && !Array.isArray(doc) && !('mode' in doc) ? { ...doc, mode: 'classical' } : doc),
  z.discriminatedUnion(
    'mode',
    [
      z.strictObject({ mode: z.literal('classical'), ...commonSchema }),
      z.strictObject({ mode: z.literal('transparent'), ...commonSchema, transparent: interceptionSection }),
      z.strictObject({
        mode: z.literal('pinhole'),
        ...commonSchema,
        /** Interception of inside users' requests to outside daemons (pinhole.intercept). */
        transparent: interceptionSection,
        pinhole: pinholeSection,
        middlebox: middleboxSection.optional(),
      }),
    ],
    { error: () => `mode: must be one of ${GATEWAY_MODES.map((m) => JSON.stringify(m)).join(', ')}` },
  ),
);

export type RawGatewayConfig = z.infer<typeof gatewayConfigSchema>;

/** One policy rule, normalised. */
export interface PolicyRule {
  readonly action: 'allow' | 'deny';
  readonly direction: 'inbound' | 'outbound' | 'any';
  /** Inside user login, or '*'. */
  readonly user: string;
  /** '*' | a network | a host name (matched against the remote's name or its table address). */
  readonly remote: { kind: 'any' } | { kind: 'cidr'; cidr: Ipv4Cidr } | { kind: 'host'; name: string };
}

export interface SideConfig {
  readonly address: string;
  readonly interface?: string;
  /** Static name → IPv4 table for this side's name context. */
  readonly hosts: ReadonlyMap<string, string>;
  readonly daemonPorts: { readonly ntalk: number; readonly otalk: number };
}

/** Interception settings (transparent mode; the pinhole mode's outbound interception). */
export interface InterceptionConfig {
  readonly port: number;
  readonly table: string;
}

/** [pinhole], normalised. */
export interface PinholeConfig {
  readonly table: string;
  readonly ownFirewall: boolean;
  readonly prefix: string;
  readonly ports: { readonly min: number; readonly max: number };
  readonly holeTimeoutSeconds: number;
  readonly outbound: 'open' | 'holes';
  readonly intercept: boolean;
  /** "lib" (libnftables in process, the default) or "exec" (`nft -j` per batch). */
  readonly nft: 'lib' | 'exec';
}

/** [ha], normalised: one node of an active/backup pair. */
export interface HaConfig {
  readonly initialRole: 'backup' | 'master';
  readonly controlSocket: string;
  /** undefined: no conntrackd on this node (`conntrackd = ""`). */
  readonly conntrackd?: { readonly program: string; readonly config: string };
}

/** What every mode shares. */
export interface GatewayCommonConfig {
  readonly mode: GatewayMode;
  readonly inside: SideConfig & { readonly networks: readonly Ipv4Cidr[]; readonly allowHostNames: boolean };
  readonly outside: SideConfig & { readonly dns: boolean };
  readonly ports: { readonly ntalk: number; readonly otalk: number };
  readonly relay: {
    readonly ports: { readonly min: number; readonly max: number };
    readonly idleTimeoutMs: number;
    readonly maxDurationMs: number;
    readonly sanitize: boolean;
  };
  /** login → { user, host } (host resolved in the context of the side the user lives on). */
  readonly directory: ReadonlyMap<string, { readonly user: string; readonly host: string }>;
  readonly policy: readonly PolicyRule[];
  readonly limits: {
    readonly maxCalls: number;
    readonly ratePerSecond: number;
    readonly burst: number;
    /** Global new-call requests per second, per side (any source). */
    readonly globalRatePerSecond: number;
    readonly globalBurst: number;
    /** Fair shares of the call table (src/gateway/session/call-table-shares.ts). */
    readonly callsPerSource: number;
    readonly callsPerNetwork: number;
    readonly networkPrefix: number;
    readonly pendingPerCallee: number;
    readonly sideReserve: number;
  };
  readonly audit?: { readonly file: string };
  /** undefined when `listen = "off"`. */
  readonly admin?: {
    readonly host: string;
    readonly port: number;
    readonly hosts?: readonly string[];
    readonly token?: string;
    readonly tls?: { readonly certFile: string; readonly keyFile: string };
  };
  /** Peer gateways reached over mutually authenticated TLS (issue 15); absent: none. */
  readonly peering?: PeeringConfig;
  /** Who the unprivileged worker runs as; default nobody (DEFAULT_WORKER_USER). */
  readonly privileges?: { readonly user: string; readonly group?: string };
  /** One node of an HA pair (docs/ha.md). */
  readonly ha?: HaConfig;
}

/** One peer gateway. */
export interface PeerGateway {
  readonly name: string;
  readonly address: string;
  /** SHA-256 of its certificate, upper-case hex with colons (as Node's `fingerprint256`). */
  readonly fingerprint?: string;
}

export interface PeeringConfig {
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly peers: readonly PeerGateway[];
}

export interface ClassicalConfig extends GatewayCommonConfig {
  readonly mode: 'classical';
}
export interface TransparentConfig extends GatewayCommonConfig {
  readonly mode: 'transparent';
  readonly transparent: InterceptionConfig;
}
export interface PinholeModeConfig extends GatewayCommonConfig {
  readonly mode: 'pinhole';
  readonly transparent: InterceptionConfig;
  readonly pinhole: PinholeConfig;
  /** A remote PCP middlebox opens the holes instead of local nftables. */
  readonly middlebox?: { readonly pcp: string; readonly port: number };
}

/** The validated configuration the gateway runs with: one variant per mode. */
export type GatewayConfig = ClassicalConfig | TransparentConfig | PinholeModeConfig;

function lowerMap(rec: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(rec).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Normalises a schema-validated raw config. Throws nothing: cross-field checks live in the loader. */
export function normaliseGatewayConfig(raw: RawGatewayConfig): GatewayConfig {
  const side = (s: RawGatewayConfig['inside'] | RawGatewayConfig['outside']): SideConfig => ({
    address: s.address,
    ...(s.interface !== undefined ? { interface: s.interface } : {}),
    hosts: lowerMap(s.hosts),
    daemonPorts: { ntalk: s.daemon_ports.ntalk, otalk: s.daemon_ports.otalk },
  });
  const adminMatch = raw.admin.listen === 'off' ? null : /^(.+):(\d+)$/.exec(raw.admin.listen);
  const common: Omit<GatewayCommonConfig, 'mode'> = {
    inside: {
      ...side(raw.inside),
      networks: raw.inside.networks.map((c) => parseCidr(c) as Ipv4Cidr),
      allowHostNames: raw.inside.allow_host_names,
    },
    outside: { ...side(raw.outside), dns: raw.outside.dns },
    ports: { ntalk: raw.ports.ntalk, otalk: raw.ports.otalk },
    relay: {
      ports: raw.relay.ports,
      idleTimeoutMs: raw.relay.idle_timeout * 1000,
      maxDurationMs: raw.relay.max_duration * 1000,
      sanitize: raw.relay.sanitize,
    },
    directory: new Map(
      Object.entries(raw.directory).map(([login, target]) => {
        const at = target.lastIndexOf('@');
        return [login, { user: target.slice(0, at), host: target.slice(at + 1).toLowerCase() }];
      }),
    ),
    policy: raw.policy.map((r) => ({
      action: r.action,
      direction: r.direction,
      user: r.user,
      remote:
        r.remote === '*'
          ? { kind: 'any' as const }
          : parseCidr(r.remote) !== undefined
            ? { kind: 'cidr' as const, cidr: parseCidr(r.remote) as Ipv4Cidr }
            : { kind: 'host' as const, name: r.remote.toLowerCase() },
    })),
    limits: {
      maxCalls: raw.limits.max_calls,
      ratePerSecond: raw.limits.rate,
      burst: raw.limits.burst,
      globalRatePerSecond: raw.limits.global_rate,
      globalBurst: raw.limits.global_burst,
      callsPerSource: raw.limits.calls_per_source,
      callsPerNetwork: raw.limits.calls_per_network,
      networkPrefix: raw.limits.network_prefix,
      pendingPerCallee: raw.limits.pending_per_callee,
      sideReserve: raw.limits.side_reserve,
    },
    ...(raw.audit !== undefined ? { audit: { file: raw.audit.file } } : {}),
    ...(adminMatch ? {
          admin: {
            host: adminMatch[1] as string,
            port: Number(adminMatch[2]),
            ...(raw.admin.hosts.length > 0 ? { hosts: raw.admin.hosts } : {}),
            ...(raw.admin.token !== undefined ? { token: raw.admin.token } : {}),
            ...(raw.admin.tls_cert !== undefined && raw.admin.tls_key !== undefined ? { tls: { certFile: raw.admin.tls_cert, keyFile: raw.admin.tls_key } } : {}),
          },
        } : {}),
    ...(raw.peering !== undefined
      ? {
          peering: {
            port: raw.peering.port,
            certFile: raw.peering.cert,
            keyFile: raw.peering.key,
            caFile: raw.peering.ca,
            peers: raw.peering.peers.map((x) => ({
              name: x.name,
              address: x.address,
              ...(x.fingerprint !== undefined ? { fingerprint: normaliseFingerprint(x.fingerprint) } : {}),
            })),
          },
        }
      : {}),
    ...(raw.privileges !== undefined
      ? { privileges: { user: raw.privileges.user, ...(raw.privileges.group !== undefined ? { group: raw.privileges.group } : {}) } }
      : {}),
    ...(raw.ha !== undefined
      ? {
          ha: {
            initialRole: raw.ha.role,
            controlSocket: raw.ha.control_socket,
            ...(raw.ha.conntrackd !== '' ? { conntrackd: { program: raw.ha.conntrackd, config: raw.ha.conntrackd_config } } : {}),
          },
        }
      : {}),
  };
  switch (raw.mode) {
    case 'classical':
      return { ...common, mode: 'classical' };
    case 'transparent':
      return { ...common, mode: 'transparent', transparent: { port: raw.transparent.port, table: raw.transparent.table } };
    case 'pinhole':
      return {
        ...common,
        mode: 'pinhole',
        transparent: { port: raw.transparent.port, table: raw.transparent.table },
        pinhole: {
          table: raw.pinhole.table,
          ownFirewall: raw.pinhole.own_firewall,
          prefix: raw.pinhole.prefix,
          ports: raw.pinhole.ports,
          holeTimeoutSeconds: raw.pinhole.hole_timeout,
          outbound: raw.pinhole.outbound,
          intercept: raw.pinhole.intercept,
          nft: raw.pinhole.nft,
        },
        ...(raw.middlebox !== undefined ? { middlebox: { pcp: raw.middlebox.pcp, port: raw.middlebox.port } } : {}),
      };
  }
}

/** `ab:cd…` or `abcd…` → `AB:CD:…`, the form of Node's `X509Certificate.fingerprint256`. */
function normaliseFingerprint(f: string): string {
  const hex = f.replace(/:/g, '').toUpperCase();
  return hex.match(/../g)?.join(':') ?? hex;
}
