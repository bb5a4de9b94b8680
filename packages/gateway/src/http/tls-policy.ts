/**
 * The TLS policy every listener uses: TLS 1.3 only (no CBC, no renegotiation, no compression exist in
 * 1.3), AEAD suites in our order, hybrid post-quantum key exchange first (X25519MLKEM768, OpenSSL 3.5 in
 * Node 24), then X25519 and P-256 for peers without it. Client certificates are verified by OpenSSL
 * during the handshake against the fleetgate trust bundle, so an unknown CA, an expired certificate or
 * a missing certificate never reaches HTTP.
 */
import type { SecureContextOptions, TlsOptions } from 'node:tls';

export const TLS_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';
export const TLS_GROUPS = 'X25519MLKEM768:X25519:P-256';

export interface TlsMaterial {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM chain: leaf then intermediate. */
  cert: string;
  /** PEM trust bundle for client certificates. */
  ca: string;
}

export function tlsServerOptions(
  material: TlsMaterial,
  requireClientCert: boolean,
): TlsOptions & SecureContextOptions {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    // Node routes TLS_* names in `ciphers` to OpenSSL's TLS 1.3 ciphersuite list.
    ciphers: TLS_CIPHERSUITES,
    ecdhCurve: TLS_GROUPS,
    honorCipherOrder: true,
    requestCert: requireClientCert,
    rejectUnauthorized: requireClientCert,
    // Resumption keeps the ~1 ms full handshake off reconnecting vehicles; tickets are rotated by Node
    // per process (explicit rotation across nodes is issue #3's ticket-key work).
    sessionTimeout: 300,
  };
}
