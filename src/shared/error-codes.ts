/**
 * The registry of stable error codes (issue 12: "one error root with a registry of stable codes").
 * Every error talkgate throws on purpose is a TalkError (talk-error.ts) whose `code` is a key of
 * ERROR_CODES; operators, logs and tests compare codes, never messages. docs/error-codes.md lists
 * them, with the call reasons and the privileged refusals (test/error-codes-docs.test.ts keeps the
 * page complete). A code, once released, keeps its meaning; a new failure gets a new code.
 */
export const ERROR_CODES = {
  // protocol
  TALK_ERR_DECODE: 'a datagram is not a well-formed talk or PCP message (the field and offset are given)',
  TALK_ERR_ENCODE: 'a message field is out of range and cannot be encoded',
  // native layer
  TALK_ERR_NATIVE: 'a socket call of the native layer failed (the call and errno are given)',
  TRANSPARENT_PERMISSION: 'transparent interception needs CAP_NET_ADMIN (run as root or grant the capability)',
  TRANSPARENT_UNSUPPORTED: 'the platform or kernel lacks transparent sockets (IP_TRANSPARENT, SO_ORIGINAL_DST)',
  TRANSPARENT_ADDRESS_IN_USE: 'an interception address is held by another socket',
  NO_ORIGINAL_DST: 'the kernel has no original destination for an intercepted connection',
  TRANSPARENT_CLOSED: 'a transparent socket was used after it was closed',
  TRANSPARENT_SYSCALL: 'another transparent-socket call failed (the call and errno are given)',
  NFTABLES_UNAVAILABLE: 'libnftables cannot be loaded (install libnftables1) or gives no context',
  CONNTRACK_UNAVAILABLE: 'libnetfilter_conntrack cannot be loaded (install libnetfilter-conntrack3) or opened',
  PTY_OPEN: 'a pseudo-terminal cannot be opened',
  // firewall
  INTERCEPT_INSTALL: 'the interception (tproxy route, rule or nftables table) cannot be installed',
  NFT_TABLE_INSTALL: "talkgate's own nftables table cannot be installed, listed or replaced",
  // configuration and start-up
  CONFIG_INVALID: 'a configuration does not validate (the keys and reasons are given)',
  SOCKET_ACTIVATION: 'socket activation was requested but the inherited sockets are not usable',
  NOTHING_TO_SERVE: 'every protocol of the daemon is disabled',
  ADMIN_LISTEN: 'the admin listener has no usable TCP address',
  // privilege separation
  PRIVSEP_USER: 'the configured unprivileged user or group is missing, or is root',
  PRIVSEP_DROP: 'the worker still holds root or a capability after dropping them',
  PRIVSEP_SOCKET: 'a socket the privileged process should hand over was not inherited',
  PRIVSEP_REFUSED: 'the privileged process refused a request (its refusal code is given)',
  // peer gateways
  PEER_FRAME: 'a peer gateway sent a frame that is too long, not JSON or not a frame of the peer protocol',
  // PCP
  PCP_TIMEOUT: 'a PCP server did not answer after every retransmission',
  PCP_BUSY: 'too many PCP requests are in flight',
  // audit
  AUDIT_CLOSED: 'the audit log was written after it was closed',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Code used for an error that is not a TalkError (a bug, or a failure nobody named yet). */
export const INTERNAL_ERROR_CODE = 'INTERNAL';
