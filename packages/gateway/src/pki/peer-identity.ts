/**
 * Who is on the other end of an mTLS connection: the fleetgate identity in the peer certificate's
 * subjectAltName (RFC 5280 §4.2.1.6, uniformResourceIdentifier `urn:fleetgate:<kind>:<id>`), plus the
 * values the rest of the gateway keys on (certificate thumbprint as in RFC 8705 §3.1, SPKI key id).
 *
 * Called once per TLS connection, after OpenSSL has verified the chain. The DER still comes from the
 * peer and is treated as hostile; parse defensively:
 *   - size limit MAX_PEER_CERTIFICATE_BYTES; anything node:crypto cannot parse is PKI_MALFORMED_CERTIFICATE;
 *   - a certificate that can act as a CA (OpenSSL's X509_check_ca: CA:TRUE without a keyUsage that
 *     excludes keyCertSign) presented as a client certificate is refused (PKI_NOT_END_ENTITY);
 *   - exactly one SAN URI may claim the fleetgate namespace (compared case-insensitively, RFC 8141 §3.1):
 *     none → PKI_NO_IDENTITY, several → PKI_AMBIGUOUS_IDENTITY (even if only one is well formed), one
 *     that is not canonical → PKI_INVALID_ID. Identity never comes from the subject DN.
 * The SAN list is read from node:crypto's `subjectAltName` text by internal/subject-alt-names.ts, whose
 * tokenizer accepts only node's escaped grammar, so one hostile value cannot split into two names.
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import { toHex } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { PkiError } from './errors.ts';
import { claimsFleetgateNamespace, type PeerKind, parseIdentityUri } from './identity.ts';
import { splitSubjectAltNames } from './internal/subject-alt-names.ts';

/** Larger client certificates are refused before parsing; ours are well under 1 KiB. */
export const MAX_PEER_CERTIFICATE_BYTES = 16 * 1024;

export interface PeerIdentity {
  readonly kind: PeerKind;
  readonly id: string;
  /** Lower-case hex SHA-256 of the certificate DER (the RFC 8705 `x5t#S256` value, in hex). */
  readonly thumbprintSha256: string;
  /** Lower-case hex SHA-256 of the SubjectPublicKeyInfo DER (= core keyIdOf). */
  readonly keyId: string;
  readonly publicKey: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The serial number in lower-case hex. */
  readonly serialNumber: string;
}

type ParsedCertificate = Omit<PeerIdentity, 'kind' | 'id'> & { isCa: boolean; subjectAltName: string };

/** Every node:crypto accessor decodes lazily and may throw on hostile DER (found by the bit-flip fuzz test). */
function parseHostile(der: Uint8Array): ParsedCertificate {
  if (der.byteLength === 0 || der.byteLength > MAX_PEER_CERTIFICATE_BYTES) {
    throw new PkiError(
      'PKI_MALFORMED_CERTIFICATE',
      `peer certificate must be 1 to ${MAX_PEER_CERTIFICATE_BYTES} bytes`,
    );
  }
  try {
    const certificate = new X509Certificate(der);
    const publicKey = certificate.publicKey;
    return {
      thumbprintSha256: toHex(sha256(der)),
      keyId: keyIdOf(publicKey),
      publicKey,
      notBefore: certificate.validFromDate,
      notAfter: certificate.validToDate,
      serialNumber: certificate.serialNumber.toLowerCase(),
      isCa: certificate.ca,
      subjectAltName: certificate.subjectAltName ?? '',
    };
  } catch (cause) {
    throw new PkiError('PKI_MALFORMED_CERTIFICATE', 'peer certificate is not a parseable X.509 certificate', {
      cause,
    });
  }
}

/** The fleetgate identity and fingerprints of a (chain-verified) TLS peer certificate. */
export function peerIdentityFromDer(der: Uint8Array): PeerIdentity {
  const { isCa, subjectAltName, ...fingerprints } = parseHostile(der);
  if (isCa) throw new PkiError('PKI_NOT_END_ENTITY', 'peer certificate can act as a CA');

  const claims = splitSubjectAltNames(subjectAltName).filter(
    (name) => name.type === 'URI' && claimsFleetgateNamespace(name.value),
  );
  const claim = claims[0];
  if (claim === undefined) throw new PkiError('PKI_NO_IDENTITY', 'peer certificate has no fleetgate SAN URI');
  if (claims.length > 1) {
    throw new PkiError('PKI_AMBIGUOUS_IDENTITY', 'peer certificate has more than one fleetgate SAN URI');
  }
  const { kind, id } = parseIdentityUri(claim.value);
  return { kind, id, ...fingerprints };
}
