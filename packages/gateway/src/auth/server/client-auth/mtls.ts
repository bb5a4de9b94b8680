/**
 * Mutual-TLS client authentication (RFC 8705 §2):
 *  - tls_client_auth (§2.1): the certificate chains to the fleetgate CA (verified by OpenSSL in the
 *    handshake) and its SAN URI is exactly the registered `tls_client_auth_san_uri`
 *    (urn:fleetgate:partner:<client_id>) — identity from the SAN only, never from the subject DN;
 *  - self_signed_tls_client_auth (§2.2): the certificate is the one registered, compared by its SHA-256
 *    thumbprint (the registered value, or an x5c certificate in the registered JWKS), and is inside its
 *    validity period. Its chain is not what is trusted: the pin is.
 * In both, the TLS 1.3 handshake proved possession of the certificate's private key.
 *
 * Threats: a certificate of another partner (SAN mismatch), a certificate from another CA presented as
 * tls_client_auth (not CA-verified), an expired self-signed certificate, a client registered for one
 * method authenticating with another (refused by the caller before this runs).
 */
import { createHash } from 'node:crypto';
import { identityUri } from '../../../pki/identity.ts';
import type { OAuthClient } from '../client-registry.ts';
import { clientAuthFailed } from '../errors.ts';
import type { ConnectionCertificate } from './connection-certificate.ts';

/** base64url SHA-256 of each registered x5c leaf certificate (RFC 7517 §4.7: standard base64 DER). */
function pinnedThumbprints(client: OAuthClient): Set<string> {
  const pins = new Set<string>();
  if (client.tlsClientAuthSanUri !== null) pins.add(client.tlsClientAuthSanUri);
  for (const key of client.jwks?.keys ?? []) {
    const leaf = Array.isArray(key.x5c) ? key.x5c[0] : undefined;
    if (typeof leaf === 'string' && leaf.length <= 16_384) {
      pins.add(createHash('sha256').update(Buffer.from(leaf, 'base64')).digest('base64url'));
    }
  }
  return pins;
}

export function authenticateMtlsClient(
  client: OAuthClient,
  certificate: ConnectionCertificate | undefined,
  now: Date,
  skewSeconds: number,
): void {
  if (certificate === undefined) throw clientAuthFailed('CERT_MISSING', 'a client certificate is required');
  if (client.authMethod === 'tls_client_auth') {
    if (!certificate.caVerified) {
      throw clientAuthFailed('CERT_NOT_VERIFIED', 'the client certificate is not from the fleetgate CA');
    }
    const identity = certificate.identity;
    if (
      identity === undefined ||
      identity.kind !== 'partner' ||
      identity.id !== client.clientId ||
      identityUri('partner', identity.id) !== client.tlsClientAuthSanUri
    ) {
      throw clientAuthFailed('CERT_SAN_MISMATCH', 'the client certificate does not name this client');
    }
    return;
  }
  if (client.authMethod === 'self_signed_tls_client_auth') {
    if (!pinnedThumbprints(client).has(certificate.x5tS256)) {
      throw clientAuthFailed('CERT_THUMBPRINT_MISMATCH', 'the client certificate is not the registered one');
    }
    const t = now.getTime();
    const skew = skewSeconds * 1000;
    if (t + skew < certificate.notBefore.getTime() || t - skew > certificate.notAfter.getTime()) {
      throw clientAuthFailed('CERT_EXPIRED', 'the client certificate is outside its validity period');
    }
    return;
  }
  throw clientAuthFailed('METHOD_MISMATCH', 'the client is not registered for mutual-TLS authentication');
}
