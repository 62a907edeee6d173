/**
 * PCP (RFC 6887) and NAT-PMP (RFC 6886) wire sizes, codes and timers, each named once with its
 * source. Summary in shared/reference/middlebox.md §1.
 */

/** RFC 6887 §19.1: PCP server port (shared with NAT-PMP, RFC 6886 §3.1). */
export const PCP_SERVER_PORT = 5351;
/** RFC 6887 §19.1 / RFC 6886 §3.2.1: clients listen here for unsolicited ANNOUNCE. */
export const PCP_CLIENT_PORT = 5350;
/** RFC 6887 §8.5: ANNOUNCE multicast group for IPv4. */
export const PCP_ANNOUNCE_GROUP4 = '224.0.0.1';

/** RFC 6887 §7: the only PCP version. */
export const PCP_VERSION = 2;
/** RFC 6886: NAT-PMP is version 0. */
export const NATPMP_VERSION = 0;

/** RFC 6887 §7: messages are at most 1100 octets. */
export const PCP_MAX_MESSAGE = 1100;
/** RFC 6887 §7.1/§7.2: request and response headers are 24 octets. */
export const PCP_HEADER_SIZE = 24;
/** RFC 6887 §11.1: MAP opcode body (nonce 12, proto 1, reserved 3, ports 2+2, address 16). */
export const PCP_MAP_BODY_SIZE = 36;
/** RFC 6887 §12.1: PEER opcode body (MAP fields + remote port 2, reserved 2, remote address 16). */
export const PCP_PEER_BODY_SIZE = 56;
/** RFC 6887 §11.1: mapping nonce length. */
export const PCP_NONCE_SIZE = 12;
/** RFC 6887 §7.3: option header (code 1, reserved 1, length 2). */
export const PCP_OPTION_HEADER_SIZE = 4;
/** RFC 6887 §13.1 THIRD_PARTY data length. */
export const PCP_THIRD_PARTY_SIZE = 16;
/** RFC 6887 §13.3 FILTER data length. */
export const PCP_FILTER_SIZE = 20;
/** Bound on FILTER options we accept in one request (EXCESSIVE_REMOTE_PEERS beyond). */
export const PCP_MAX_FILTERS = 8;
/** The R bit of the opcode octet (RFC 6887 §7.1). */
export const PCP_RESPONSE_BIT = 0x80;

export const PcpOpcode = { ANNOUNCE: 0, MAP: 1, PEER: 2 } as const;

/** RFC 6887 §19.4 / RFC 7220 option codes. */
export const PcpOptionCode = { THIRD_PARTY: 1, PREFER_FAILURE: 2, FILTER: 3, DESCRIPTION: 128 } as const;
/** RFC 6887 §7.3: options 0–127 are mandatory to process. */
export const PCP_MANDATORY_OPTION_LIMIT = 128;

/** RFC 6887 §7.4 result codes. */
export const PcpResult = {
  SUCCESS: 0,
  UNSUPP_VERSION: 1,
  NOT_AUTHORIZED: 2,
  MALFORMED_REQUEST: 3,
  UNSUPP_OPCODE: 4,
  UNSUPP_OPTION: 5,
  MALFORMED_OPTION: 6,
  NETWORK_FAILURE: 7,
  NO_RESOURCES: 8,
  UNSUPP_PROTOCOL: 9,
  USER_EX_QUOTA: 10,
  CANNOT_PROVIDE_EXTERNAL: 11,
  ADDRESS_MISMATCH: 12,
  EXCESSIVE_REMOTE_PEERS: 13,
} as const;
export type PcpResultCode = (typeof PcpResult)[keyof typeof PcpResult];

export function pcpResultName(code: number): string {
  for (const [k, v] of Object.entries(PcpResult)) if (v === code) return k;
  return `RESULT_${code}`;
}

/** RFC 6887 §7.4: short-lifetime errors (NETWORK_FAILURE, NO_RESOURCES, USER_EX_QUOTA). */
export const PCP_SHORT_ERROR_LIFETIME_S = 30;
/** RFC 6887 §7.4: long-lifetime errors get at least this (we answer 30 min). */
export const PCP_LONG_ERROR_LIFETIME_S = 1800;

/** RFC 6887 §8.1.1: initial retransmission time. */
export const PCP_IRT_MS = 3_000;
/** RFC 6887 §8.1.1: maximum retransmission time. */
export const PCP_MRT_MS = 1_024_000;
/** Our CLI bound on retransmissions (libpcp default_config.h MRC 3). */
export const PCP_CLI_MRC = 3;
/** RFC 6887 §8.5: epoch tolerance: 2 s + 1/16 of the elapsed client time. */
export const PCP_EPOCH_SLACK_S = 2;

/** RFC 6886 §3.2/§3.3 NAT-PMP sizes. */
export const NATPMP_ADDRESS_REQUEST_SIZE = 2;
export const NATPMP_MAP_REQUEST_SIZE = 12;
export const NATPMP_ADDRESS_RESPONSE_SIZE = 12;
export const NATPMP_MAP_RESPONSE_SIZE = 16;
/** A NAT-PMP error reply to an unknown request: version, op|128, result, epoch (RFC 6886 §3.5). */
export const NATPMP_ERROR_RESPONSE_SIZE = 8;
export const NatpmpOpcode = { ADDRESS: 0, MAP_UDP: 1, MAP_TCP: 2 } as const;
/** RFC 6886 §3.5 result codes. */
export const NatpmpResult = { SUCCESS: 0, UNSUPP_VERSION: 1, NOT_AUTHORIZED: 2, NETWORK_FAILURE: 3, NO_RESOURCES: 4, UNSUPP_OPCODE: 5 } as const;

/** IANA protocol numbers used in MAP/PEER. */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
