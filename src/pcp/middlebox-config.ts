/**
 * `talkgate middlebox` configuration (TOML): [inside] address/interface/networks,
 * [outside] address/interface, [pcp] min_lifetime/max_lifetime/third_party/listen_port,
 * optional [firewall] table/deployment/prefix/outbound.
 */
import { parse } from 'smol-toml';
import { z } from 'zod';
import { isIpv4 } from './pcp-address.js';
import { MIDDLEBOX_DEFAULTS, type MiddleboxConfig } from './middlebox-core.js';
import { PCP_SERVER_PORT } from './pcp-constants.js';
import type { NftTableSpec } from '../firewall/nft-ruleset.js';
import { portRangeSchema } from '../config/gateway-config.js';
import { TalkError } from '../shared/talk-error.js';

const ipv4 = z.string().refine(isIpv4, 'an IPv4 address');
const cidr = z.string().refine((s) => {
  const [a, l] = s.split('/');
  return a !== undefined && isIpv4(a) && (l === undefined || (/^\d+$/.test(l) && Number(l) <= 32));
}, 'an IPv4 network a.b.c.d/len');
const ifname = z.string().regex(/^[A-Za-z0-9_.@-]{1,15}$/, 'an interface name');
const nftName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,30}$/);
const port = z.number().int().min(1).max(65535);

export const MiddleboxFileSchema = z.strictObject({
  inside: z.strictObject({ address: ipv4, interface: ifname, networks: z.array(cidr).max(64).default([]) }),
  outside: z.strictObject({ address: ipv4, interface: ifname }),
  pcp: z
    .strictObject({
      min_lifetime: z.number().int().min(1).max(0xffff_ffff).default(MIDDLEBOX_DEFAULTS.minLifetime),
      max_lifetime: z.number().int().min(1).max(0xffff_ffff).default(MIDDLEBOX_DEFAULTS.maxLifetime),
      third_party: z.array(ipv4).max(64).default([]),
      listen_port: port.default(PCP_SERVER_PORT),
      /** `"LOW-HIGH"` as in the gateway's files; the older `[LOW, HIGH]` array is still read. */
      port_range: portRangeSchema
        .transform((r): [number, number] => [r.min, r.max])
        .or(z.tuple([port, port]))
        .default([...MIDDLEBOX_DEFAULTS.portRange]),
      max_mappings: z.number().int().min(1).max(65536).default(MIDDLEBOX_DEFAULTS.maxMappings),
      max_per_host: z.number().int().min(1).max(65536).default(MIDDLEBOX_DEFAULTS.maxPerHost),
      announce: z.boolean().default(true),
    })
    .refine((p) => p.min_lifetime <= p.max_lifetime, 'min_lifetime <= max_lifetime')
    .refine((p) => p.port_range[0] <= p.port_range[1], 'port_range low <= high')
    .prefault({}),
  firewall: z
    .strictObject({
      table: nftName.default('talkgate_pcp'),
      deployment: z.enum(['own', 'admin']).default('own'),
      prefix: z.string().regex(/^[A-Za-z0-9_]{0,12}$/).default(''),
      outbound: z.enum(['open', 'holes']).default('open'),
    })
    .prefault({}),
  /** A read-only admin page of the mappings (issue 16); loopback only, since it has no token. */
  admin: z.strictObject({ listen: z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}$/, 'must be a loopback "address:port" (the page is read-only, with no token)') }).optional(),
});

export interface MiddleboxSettings {
  readonly listenAddress: string;
  readonly listenPort: number;
  readonly announce: boolean;
  readonly core: MiddleboxConfig;
  readonly table: NftTableSpec;
  /** `host:port` of the read-only admin page, when configured. */
  readonly adminListen?: string;
}

/** Parses and validates the TOML text; throws with a readable message. */
export function parseMiddleboxConfig(text: string): MiddleboxSettings {
  const raw = parse(text);
  const r = MiddleboxFileSchema.safeParse(raw);
  if (!r.success) throw new TalkError('CONFIG_INVALID', `invalid middlebox config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const c = r.data;
  return {
    listenAddress: c.inside.address,
    listenPort: c.pcp.listen_port,
    announce: c.pcp.announce,
    core: {
      externalAddress: c.outside.address,
      insideNetworks: c.inside.networks,
      minLifetime: c.pcp.min_lifetime,
      maxLifetime: c.pcp.max_lifetime,
      thirdParty: c.pcp.third_party,
      portRange: c.pcp.port_range,
      maxMappings: c.pcp.max_mappings,
      maxPerHost: c.pcp.max_per_host,
    },
    table: {
      family: 'ip',
      table: c.firewall.table,
      deployment: c.firewall.deployment,
      prefix: c.firewall.prefix,
      outsideInterface: c.outside.interface,
      insideInterface: c.inside.interface,
      insideNetworks: c.firewall.deployment === 'own' ? c.inside.networks : [],
      outbound: c.firewall.outbound,
    },
    ...(c.admin !== undefined ? { adminListen: c.admin.listen } : {}),
  };
}
