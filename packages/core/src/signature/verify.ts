/**
 * verifySignature: the one dispatch from an algorithm name to its suite, for everything that checks a
 * signed envelope (telemetry now, commands later). Each suite lives in its own file with the same shape;
 * this is a plain switch over the closed SignatureAlgorithm union — no registry, no global provider,
 * nothing another module can add to at import time.
 *
 * Contract: never throws on attacker-controlled input. An unknown algorithm, a key of the wrong kind for
 * the algorithm (an ECDSA key under "ed25519", an ML-DSA-44 key in a hybrid, a public key where an HMAC
 * secret belongs), a signature of the wrong length or a malformed one all answer false. The message is
 * verified exactly as given: callers pass the signing input built over the bytes received, never a
 * re-serialization (CONVENTIONS.md §6).
 */
import { KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from './algorithm.ts';
import { ecdsaP256Verify } from './ecdsa-p256.ts';
import { ed25519Verify } from './ed25519.ts';
import { hmacSha256Verify } from './hmac-sha256.ts';
import { type HybridEd25519MlDsa65PublicKey, hybridEd25519MlDsa65Verify } from './hybrid-ed25519-mldsa65.ts';

/** A KeyObject for the single-key suites (the secret key for HMAC); both halves for the hybrid. */
export type VerificationKey = KeyObject | HybridEd25519MlDsa65PublicKey;

function isHybridKey(key: VerificationKey): key is HybridEd25519MlDsa65PublicKey {
  return (
    typeof key === 'object' &&
    key !== null &&
    !(key instanceof KeyObject) &&
    key.ed25519 instanceof KeyObject &&
    key.mlDsa65 instanceof KeyObject &&
    key.ed25519.type === 'public' &&
    key.mlDsa65.type === 'public'
  );
}

function dispatch(
  alg: SignatureAlgorithm,
  key: VerificationKey,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (alg === 'ed25519+ml-dsa-65') {
    return isHybridKey(key) && hybridEd25519MlDsa65Verify(key, message, signature);
  }
  if (!(key instanceof KeyObject)) return false;
  switch (alg) {
    case 'ed25519':
      return key.type === 'public' && ed25519Verify(key, message, signature);
    case 'ecdsa-p256-sha256':
      return key.type === 'public' && ecdsaP256Verify(key, message, signature);
    case 'hmac-sha256':
      return hmacSha256Verify(key, message, signature);
    default:
      // Unreachable for typed callers; a name that slipped past the type from the wire is simply invalid.
      return false;
  }
}

/** True only when `signature` is a valid `alg` signature by `key` over exactly `message`. Never throws. */
export function verifySignature(
  alg: SignatureAlgorithm,
  key: VerificationKey,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
  try {
    return dispatch(alg, key, message, signature);
  } catch {
    return false;
  }
}
