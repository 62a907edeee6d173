/**
 * The TLS leg of a relayed call to or from a configured peer gateway (issue 15), built where the
 * relay runs (its own thread, relay-thread.ts): what crosses to that thread is a plain,
 * structured-cloneable spec (PEM material and the peer's entry), from which this module builds
 * the secure context and the check of the far end.
 */
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { PeerGateway } from '../../config/gateway-config.js';
import { checkPeerCertificate, type PeerRefusal } from './peer-identity.js';

/** The gateway's own certificate and key and the CA(s) peers chain to (PEM). */
export interface PeerTlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** What the relay thread is given for one leg: cloneable. */
export interface PeerTlsLegSpec {
  readonly material: PeerTlsMaterial;
  readonly peer: PeerGateway;
}

/** A leg ready for the relay: the secure context and the check of the far end. */
export interface PeerTlsLeg {
  readonly secureContext: tls.SecureContext;
  readonly servername: string;
  /** undefined when the far end of `socket` (handshake done) is the peer. */
  verify(socket: tls.TLSSocket): PeerRefusal | undefined;
}

/** The CA certificates of a PEM bundle. */
export function caCertificates(ca: string): X509Certificate[] {
  return ca
    .split(/(?<=-----END CERTIFICATE-----)/)
    .filter((pem) => pem.includes('-----BEGIN CERTIFICATE-----'))
    .map((pem) => new X509Certificate(pem.trim()));
}

/**
 * Node sets `authorized` only on sockets of a tls.Server or tls.connect; the relay wraps its
 * accepted socket itself (a TLSSocket with isServer), whose client certificate OpenSSL requests
 * but does not judge. That certificate must then be issued and signed by a configured CA and be
 * within its validity (a direct issue: peer certificates come straight from the peering CA).
 */
export function issuedByCa(cert: X509Certificate | undefined, cas: readonly X509Certificate[], now = Date.now()): boolean {
  if (cert === undefined) return false;
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return false;
  return cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

/** The far end of `s` is `peer`: its configured address, a certificate of the CA naming it (and pinned, if so). */
export function verifyPeerSocket(peer: PeerGateway, s: tls.TLSSocket, cas: readonly X509Certificate[]): PeerRefusal | undefined {
  const remote = s.remoteAddress?.startsWith('::ffff:') === true ? s.remoteAddress.slice(7) : s.remoteAddress;
  if (remote !== peer.address) return 'peer-unknown-address';
  const cert = s.getPeerX509Certificate();
  return checkPeerCertificate(peer, s.authorized || issuedByCa(cert, cas), cert);
}

/** Builds the leg of a spec (one secure context per material, cached by the caller if it wants). */
export function peerTlsLeg(spec: PeerTlsLegSpec): PeerTlsLeg {
  const m = spec.material;
  const secureContext = tls.createSecureContext({ cert: m.cert, key: m.key, ca: m.ca, minVersion: 'TLSv1.3' });
  const cas = caCertificates(m.ca);
  return { secureContext, servername: spec.peer.name, verify: (s) => verifyPeerSocket(spec.peer, s, cas) };
}
