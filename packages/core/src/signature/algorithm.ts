/**
 * The closed set of envelope signature algorithms (issue 5; protocol's SignatureAlgorithm enum names the
 * same four) and their fixed signature lengths. Closed on purpose: an algorithm name arrives from the
 * wire, and anything outside this union — "none", another curve, another ML-DSA parameter set — is
 * simply not a signature we verify (alg-confusion attacks start with an open set).
 */

export type SignatureAlgorithm = 'ed25519' | 'ecdsa-p256-sha256' | 'hmac-sha256' | 'ed25519+ml-dsa-65';

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = Object.freeze([
  'ed25519',
  'ecdsa-p256-sha256',
  'hmac-sha256',
  'ed25519+ml-dsa-65',
]);

/**
 * Exact signature length per algorithm, for limits checked before any cryptography: Ed25519 (RFC 8032)
 * 64; ECDSA P-256 in IEEE P1363 form 64; HMAC-SHA256 full tag 32; hybrid Ed25519 (64) + ML-DSA-65 (3309).
 */
export const SIGNATURE_LENGTHS: Readonly<Record<SignatureAlgorithm, number>> = Object.freeze({
  ed25519: 64,
  'ecdsa-p256-sha256': 64,
  'hmac-sha256': 32,
  'ed25519+ml-dsa-65': 3373,
});

/** Narrows an untrusted name (e.g. from an envelope or a config file) to the closed union. */
export function isSignatureAlgorithm(value: unknown): value is SignatureAlgorithm {
  return typeof value === 'string' && (SIGNATURE_ALGORITHMS as readonly string[]).includes(value);
}
