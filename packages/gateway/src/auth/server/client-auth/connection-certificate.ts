/**
 * The client certificate of the TLS connection a token-endpoint request came on, read once per
 * connection (ARCHITECTURE.md: 54 µs a call) and cached against the socket.
 *
 * On the control plane OpenSSL has already verified the chain to the fleetgate CA (the handshake refuses
 * anything else). On the token listener (auth.tokenListener) the handshake still proves possession of the
 * certificate's private key (TLS 1.3 CertificateVerify) but accepts a certificate that does not chain to
 * our CA — a self-signed one — or none: `caVerified` says which, and only self_signed_tls_client_auth
 * (pinned by thumbprint) may use an unverified certificate.
 *
 * The DER is the peer's and hostile: size-limited, parsed by node:crypto inside try/catch; a certificate
 * that cannot be parsed is treated as absent.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  MAX_PEER_CERTIFICATE_BYTES,
  type PeerIdentity,
  peerIdentityFromDer,
} from '../../../pki/peer-identity.ts';

export interface ConnectionCertificate {
  /** base64url SHA-256 of the DER: RFC 8705 §3.1 `x5t#S256`. */
  readonly x5tS256: string;
  /** Lower-case hex of the same digest (the audit log's certSha256). */
  readonly sha256Hex: string;
  /** OpenSSL verified the chain to the fleetgate CA during the handshake. */
  readonly caVerified: boolean;
  /** The fleetgate identity in the SAN, for a CA-verified certificate that has exactly one. */
  readonly identity: PeerIdentity | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const cache = new WeakMap<object, ConnectionCertificate | null>();

function read(socket: TLSSocket): ConnectionCertificate | null {
  if (typeof socket.getPeerCertificate !== 'function') return null;
  const der = socket.getPeerCertificate(false)?.raw;
  if (der === undefined || der.byteLength === 0 || der.byteLength > MAX_PEER_CERTIFICATE_BYTES) return null;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
    // Accessors decode lazily and may throw on hostile DER.
    void certificate.validToDate;
  } catch {
    return null;
  }
  const digest = createHash('sha256').update(der).digest();
  const caVerified = socket.authorized === true;
  let identity: PeerIdentity | undefined;
  if (caVerified) {
    try {
      identity = peerIdentityFromDer(new Uint8Array(der));
    } catch {
      identity = undefined;
    }
  }
  return {
    x5tS256: digest.toString('base64url'),
    sha256Hex: digest.toString('hex'),
    caVerified,
    identity,
    notBefore: certificate.validFromDate,
    notAfter: certificate.validToDate,
  };
}

/** The connection's client certificate, or undefined when the peer sent none (or an unparseable one). */
export function connectionCertificate(raw: IncomingMessage): ConnectionCertificate | undefined {
  const socket = raw.socket as TLSSocket;
  let entry = cache.get(socket);
  if (entry === undefined) {
    entry = read(socket);
    cache.set(socket, entry);
  }
  return entry ?? undefined;
}
