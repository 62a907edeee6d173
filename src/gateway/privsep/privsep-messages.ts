/**
 * The narrow interface between the gateway's privileged process and its unprivileged worker
 * (privilege separation, as OpenBSD ftp-proxy does it): the worker may ask for the holes of one call
 * to be opened, renewed or closed, for the holes to be listed or flushed, and for a talk control
 * datagram to be sent from a foreign address (interception); nothing else. Every request is parsed
 * here (zod, exact shapes and bounds) and then checked against the configuration
 * (privileged-request-check.ts) before anything is done. Messages travel over the Node IPC channel.
 */
import { z } from 'zod';
import { isIPv4 } from '../../protocol/wire.js';

/** Longest talk control datagram (ntalk CTL_MSG, talk-protocol.md). */
export const MAX_CONTROL_BYTES = 84;
/** Call ids are `c-` + digits (gateway-sessions.ts). */
const CALL_ID = /^c-[0-9]{1,12}$/;

const ipv4 = z.string().max(15).refine(isIPv4);
const port = z.number().int().min(1).max(65_535);
const endpoint = z.strictObject({ address: ipv4, port });
const callId = z.string().regex(CALL_ID);

const dataPathRequest = z.strictObject({
  callId,
  listenSide: z.enum(['inside', 'outside']),
  listenAddress: ipv4,
  expectedPeer: ipv4,
  target: endpoint,
  bindAddress: ipv4,
  acceptDeadlineMs: z.number().int().min(1).max(24 * 3600 * 1000),
});

/** worker → privileged: one request, answered by a {@link PrivilegedReply} with the same id. */
export const privilegedRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('open'), request: dataPathRequest }),
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('renew'), callId }),
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('close'), callId }),
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('list') }),
  z.strictObject({ id: z.number().int().nonnegative(), op: z.literal('flush') }),
  z.strictObject({
    id: z.number().int().nonnegative(),
    op: z.literal('sendFrom'),
    /** base64 of the datagram. */
    bytes: z.string().max(Math.ceil(MAX_CONTROL_BYTES / 3) * 4),
    from: endpoint,
    to: endpoint,
  }),
]);
export type PrivilegedRequest = z.infer<typeof privilegedRequestSchema>;

/** Why the privileged side refused a request (logged with the request, returned to the worker). */
export const PRIVILEGED_REFUSALS = {
  malformed: 'the request does not parse (unknown op, extra or missing field, value out of range)',
  'no-holes-here': 'a hole was asked of a gateway whose mode has no local holes',
  'listen-address': "the hole's address is not the gateway's own address on that side",
  'bind-address': "the onward address is not the gateway's own address on the caller's side",
  'peer-side': 'the expected peer is not an address of the side it should be on (an inside address as the outside peer)',
  'target-side': 'the target is not an address of the side it should be on',
  'unknown-call': 'renew or close of a call whose hole this worker did not open',
  'datagram-size': 'a datagram to send is empty or larger than a control message',
  'send-sides': 'a datagram to send does not go from one side to the other through the gateway',
  'no-interception': 'a datagram from a foreign address was asked of a gateway without interception',
  'send-failed': 'the firewall or the socket failed, or the privileged side did not answer',
  'ha-not-master': 'this node of an HA pair is not the master: it opens no hole (docs/ha.md)',
} as const;
export type PrivilegedRefusal = keyof typeof PRIVILEGED_REFUSALS;

export type PrivilegedReply =
  | { readonly t: 'res'; readonly id: number; readonly ok: true; readonly result?: unknown }
  | { readonly t: 'res'; readonly id: number; readonly ok: false; readonly code: PrivilegedRefusal; readonly message: string };

/** privileged → worker, besides replies. */
export type ToWorker =
  | PrivilegedReply
  | {
      readonly t: 'init';
      readonly configPath: string;
      readonly configText: string;
      readonly logLevel: string;
      readonly logFormat: string;
      readonly logFile?: string;
      /** Child fd numbers of the inherited sockets. */
      readonly sockets: unknown;
      /** Whether local holes are served by the privileged side. */
      readonly holes: boolean;
      readonly user: string;
      readonly group?: string;
      readonly workdir: string;
      /** The admin listener's TLS certificate and key (PEM), read here: the key is usually root's alone. */
      readonly adminTls?: { readonly cert: string; readonly key: string };
      /** The peering certificate, key and CA (PEM, issue 15), read here for the same reason. */
      readonly peeringTls?: { readonly cert: string; readonly key: string; readonly ca: string };
    }
  | { readonly t: 'event'; readonly kind: 'connected'; readonly callId: string; readonly info: { peer: string; target: string } }
  | {
      readonly t: 'event';
      readonly kind: 'ended';
      readonly callId: string;
      readonly info: { bytesIn: number; bytesOut: number; durationMs: number; reason: string };
    }
  | { readonly t: 'reload'; readonly configText: string }
  | { readonly t: 'reopen' }
  | { readonly t: 'stop' };
