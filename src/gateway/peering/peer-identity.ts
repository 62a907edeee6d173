/**
 * Is the certificate a TLS peer presented the one of the configured peer gateway it claims to be?
 * The chain to the configured CA is checked by TLS itself (`rejectUnauthorized`); here: the
 * connection comes from (or goes to) the peer's configured address, the certificate names the
 * peer (CN or a DNS subjectAltName equal to its name) and, when one is pinned, has its SHA-256
 * fingerprint. Pure: inputs are the peer entry and what the certificate says.
 */
import type { PeerGateway } from '../../config/gateway-config.js';

/**
 * Why a peer link was refused: stable codes for logs and metrics. `peer-unknown-address`: not
 * from (or to) a configured peer address; `peer-unauthenticated`: no certificate chaining to the
 * configured CA; `peer-wrong-name`: the certificate does not name the peer; `peer-wrong-fingerprint`:
 * not the pinned certificate.
 */
export type PeerRefusal = 'peer-unknown-address' | 'peer-unauthenticated' | 'peer-wrong-name' | 'peer-wrong-fingerprint';


/** What a presented certificate says (from X509Certificate). */
export interface PresentedCertificate {
  readonly subject: string;
  readonly subjectAltName: string | undefined;
  readonly fingerprint256: string;
}

/** The names a certificate holds: its CN(s) and its DNS subjectAltNames, lower-cased. */
export function certificateNames(cert: PresentedCertificate): string[] {
  const cns = cert.subject
    .split('\n')
    .filter((l) => l.startsWith('CN='))
    .map((l) => l.slice(3));
  const sans = (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return [...cns, ...sans].map((n) => n.toLowerCase());
}

/** undefined when `cert` (already chain-verified, or undefined when none) authenticates `peer`. */
export function checkPeerCertificate(peer: PeerGateway, authorized: boolean, cert: PresentedCertificate | undefined): PeerRefusal | undefined {
  if (!authorized || cert === undefined) return 'peer-unauthenticated';
  if (!certificateNames(cert).includes(peer.name)) return 'peer-wrong-name';
  if (peer.fingerprint !== undefined && cert.fingerprint256.toUpperCase() !== peer.fingerprint) return 'peer-wrong-fingerprint';
  return undefined;
}
