/**
 * Revocation reasons: the subset of RFC 5280 §5.3.1 CRLReason that an operator or the rotation engine
 * may state, with their code points (shared by the CRL entry `reasonCode` extension and the OCSP
 * `RevokedInfo.revocationReason`, RFC 6960 §4.2.1).
 *
 * Not offered: certificateHold (6) and removeFromCRL (8), because fleetgate revocation is final — a
 * revoked certificate never becomes good again, which the enforcement cache relies on (a revoked set
 * only grows); privilegeWithdrawn (9) and aACompromise (10) name attribute-certificate cases we do not
 * have.
 *
 * Threat: a reason string from the command line, the database or a peer naming a code we never issued
 * (parsed with an allow-list; anything else is refused, never mapped to "unspecified" silently).
 */

export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
] as const;

export type RevocationReason = (typeof REVOCATION_REASONS)[number];

const CODES: Readonly<Record<RevocationReason, number>> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
};

export function isRevocationReason(value: unknown): value is RevocationReason {
  return typeof value === 'string' && (REVOCATION_REASONS as readonly string[]).includes(value);
}

/** The RFC 5280 CRLReason code of a reason. */
export function reasonCode(reason: RevocationReason): number {
  return CODES[reason];
}

/**
 * The reason stored in the inventory, read back. A value we did not write (a hand-edited row) is read
 * as "unspecified": the certificate stays revoked whatever its reason says, so this can only lose the
 * reason, never the revocation.
 */
export function storedReason(value: string | null): RevocationReason {
  return isRevocationReason(value) ? value : 'unspecified';
}
