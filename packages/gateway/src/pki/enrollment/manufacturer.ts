/**
 * Enrollment authorised by a manufacturer certificate (RFC 7030 §3.3.2: a client certificate issued by
 * a third-party CA the EST server is configured to trust — IEEE 802.1AR calls it an IDevID). The public
 * listener asks for a client certificate but does not make OpenSSL enforce it (requestCert,
 * rejectUnauthorized: false), so a certificate from a manufacturer CA reaches us unverified; this
 * module verifies it against the bundle in `enrollment.manufacturerCaFile` and nothing else. The TLS
 * handshake has already proved the client holds the certificate's key (CertificateVerify).
 *
 * Verification is fleetgate's own RFC 5280 §6.1 path validation (pki/path/validate.ts: signatures,
 * validity at `now`, CA bits, pathLen, key usage, name constraints, policies) for the purpose
 * clientAuth, failing closed; then the leaf must name exactly one vehicle with a SAN URI
 * `urn:fleetgate:vehicle:<id>` (peer-identity.ts's parser, so the same SAN-injection defences apply).
 * Manufacturer revocation is not consulted (no CRL source for third-party CAs is configured yet): a
 * manufacturer certificate only ever obtains a first certificate for a vehicle listed in
 * `fleet.vehicles` (checked by the caller), which the operator can revoke like any other.
 *
 * Threat: a forged or foreign certificate claiming a vehicle id.
 */
import { type X509Certificate as NodeX509, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { GatewayError } from '../../errors/gateway-error.ts';
import { validatePath } from '../path/validate.ts';
import { peerIdentityFromDer } from '../peer-identity.ts';

/** Leaf + intermediates; longer chains are refused. */
export const MAX_DEPTH = 4;
const MAX_BUNDLE_BYTES = 1024 * 1024;

export interface ManufacturerIdentity {
  readonly vehicleId: string;
  /** SHA-256 of the manufacturer certificate (hex). */
  readonly thumbprintSha256: string;
}

/** Every certificate in the configured PEM bundle; a missing or unreadable file fails the start. */
export function loadManufacturerAnchors(dataDir: string, file: string | undefined): X509Certificate[] {
  if (file === undefined) return [];
  const path = isAbsolute(file) ? file : join(dataDir, file);
  const text = readFileSync(path, 'utf8');
  if (text.length > MAX_BUNDLE_BYTES) throw new Error(`manufacturer CA bundle over 1 MiB: ${path}`);
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const anchors = blocks.map((pem) => new X509Certificate(pem));
  if (anchors.length === 0) throw new Error(`no certificate in the manufacturer CA bundle ${path}`);
  if (!anchors.every((a) => a.ca)) throw new Error(`a manufacturer anchor is not a CA: ${path}`);
  return anchors;
}

function refuse(detail: string, cause?: unknown): GatewayError {
  return new GatewayError(
    'EST_MANUFACTURER_CERT_INVALID',
    detail,
    cause === undefined ? undefined : { cause },
  );
}

/** Verifies `chain` (leaf first, as the client sent it) against `anchors` at `now`. */
export function verifyManufacturerChain(
  chain: readonly NodeX509[],
  anchors: readonly NodeX509[],
  now: Date,
): ManufacturerIdentity {
  const leaf = chain[0];
  if (leaf === undefined) throw refuse('no client certificate');
  if (anchors.length === 0) throw refuse('manufacturer enrollment is not configured');
  const result = validatePath({
    chain: chain.map((c) => new Uint8Array(c.raw)),
    trustAnchors: anchors,
    time: now,
    purpose: 'clientAuth',
    maxChainLength: MAX_DEPTH,
  });
  if (!result.ok) throw refuse(`${result.code} at position ${result.position}: ${result.detail}`);
  let identity: ReturnType<typeof peerIdentityFromDer>;
  try {
    identity = peerIdentityFromDer(new Uint8Array(leaf.raw));
  } catch (cause) {
    throw refuse('certificate names no vehicle', cause);
  }
  if (identity.kind !== 'vehicle') throw refuse('certificate names no vehicle');
  return { vehicleId: identity.id, thumbprintSha256: identity.thumbprintSha256 };
}
