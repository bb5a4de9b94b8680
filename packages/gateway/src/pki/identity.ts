/**
 * fleetgate peer identities as SAN URIs (RFC 5280 §4.2.1.6 uniformResourceIdentifier, RFC 8141 URN
 * syntax): `urn:fleetgate:vehicle:<id>` and `urn:fleetgate:partner:<id>`.
 *
 * Threat: identity confusion. The id travels into topics, URLs, SQL rows, file paths (devices/<id>/)
 * and log lines, so it is restricted to a small alphabet that cannot express path traversal, URN
 * separators or DN/log injection, and a URI is accepted only in exactly this canonical form. Anything
 * else that *claims* the fleetgate namespace (any letter case, per RFC 8141 §3.1) is refused rather than
 * ignored, so a certificate cannot smuggle a second, differently-spelled identity past a lax reader.
 */
import { PkiError } from './errors.ts';

export type PeerKind = 'vehicle' | 'partner';

/** Vehicle and partner ids: 1–64 characters, starting with a letter or digit. */
export const FLEETGATE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const NAMESPACE_PREFIX = 'urn:fleetgate:';
const CANONICAL_URI = /^urn:fleetgate:(vehicle|partner):([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;

export function isValidFleetgateId(id: string): boolean {
  return FLEETGATE_ID_PATTERN.test(id);
}

/** Throws PKI_INVALID_ID unless `id` matches FLEETGATE_ID_PATTERN. The id is not echoed back. */
export function assertValidFleetgateId(id: string, what: string): void {
  if (!isValidFleetgateId(id)) {
    throw new PkiError('PKI_INVALID_ID', `${what} id must match ${FLEETGATE_ID_PATTERN.source}`);
  }
}

/** The SAN URI naming a vehicle or partner. */
export function identityUri(kind: PeerKind, id: string): string {
  assertValidFleetgateId(id, kind);
  return `${NAMESPACE_PREFIX}${kind}:${id}`;
}

/** True when a URI claims the fleetgate namespace, whatever its letter case or validity. */
export function claimsFleetgateNamespace(uri: string): boolean {
  return uri.slice(0, NAMESPACE_PREFIX.length).toLowerCase() === NAMESPACE_PREFIX;
}

/**
 * Parses a canonical fleetgate URI; PKI_INVALID_ID for anything else, including a URI in the fleetgate
 * namespace with an unknown kind, a different letter case or an id outside the allowed alphabet.
 */
export function parseIdentityUri(uri: string): { kind: PeerKind; id: string } {
  const match = CANONICAL_URI.exec(uri);
  const kind = match?.[1];
  const id = match?.[2];
  if ((kind !== 'vehicle' && kind !== 'partner') || id === undefined) {
    throw new PkiError('PKI_INVALID_ID', 'SAN URI is not urn:fleetgate:(vehicle|partner):<id>');
  }
  return { kind, id };
}
