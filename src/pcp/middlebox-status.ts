/**
 * The middlebox's status for its admin page (issue 16): its PCP/NAT-PMP mappings with client,
 * third party, filter and lifetime left. The nonce is a client's secret (RFC 6887 §11.1: whoever
 * knows it can renew or delete the mapping), so it is never shown: only who owns it.
 */
import type { Mapping } from './middlebox-core.js';

/** IANA protocol numbers the page names. */
const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp' };

export interface MiddleboxMappingStatus {
  readonly id: string;
  /** Who created the mapping and owns its nonce. */
  readonly client: string;
  /** The inside host a THIRD_PARTY mapping is for, when it is not the client. */
  readonly thirdParty?: string;
  readonly protocol: string;
  readonly internalPort: number;
  readonly externalPort: number;
  /** FILTER / PEER remote, or null for any. */
  readonly filter: string | null;
  readonly lifetimeLeftSeconds: number;
  readonly kind: 'pcp' | 'natpmp';
}

export interface MiddleboxStatus {
  readonly mode: 'middlebox';
  readonly calls: readonly [];
  readonly mappings: readonly MiddleboxMappingStatus[];
  readonly counters: Readonly<Record<string, number>>;
}

/** Status of `mappings` at clock time `nowMs` (the core's clock). */
export function middleboxStatus(mappings: readonly Mapping[], nowMs: number): MiddleboxStatus {
  return {
    mode: 'middlebox',
    calls: [],
    mappings: mappings.map((m) => ({
      id: m.id,
      client: m.requester,
      ...(m.subject !== m.requester ? { thirdParty: m.subject } : {}),
      protocol: PROTOCOL_NAMES[m.protocol] ?? String(m.protocol),
      internalPort: m.internalPort,
      externalPort: m.externalPort,
      filter: m.peer,
      lifetimeLeftSeconds: Math.max(0, Math.round((m.expiresAt - nowMs) / 1000)),
      kind: m.natpmp ? 'natpmp' : 'pcp',
    })),
    counters: { mappings: mappings.length },
  };
}
