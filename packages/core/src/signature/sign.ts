/**
 * signMessage: the signing counterpart of verifySignature (verify.ts), over the same closed
 * SignatureAlgorithm union, for the edge SDK, the simulator and tests. A plain switch — no registry.
 *
 * Unlike verification, signing runs on our own keys and inputs, so a mismatch (an Ed25519 key asked for
 * an ECDSA signature, a short HMAC key, an unknown algorithm) is a programming or configuration error and
 * throws CoreError CORE_INVALID_KEY / CORE_INVALID_ARGUMENT rather than producing something unverifiable.
 * Every suite emits exactly SIGNATURE_LENGTHS[alg] bytes; ECDSA is always low-S (ecdsa-p256.ts).
 */
import { KeyObject } from 'node:crypto';
import { CoreError } from '../errors.ts';
import type { SignatureAlgorithm } from './algorithm.ts';
import { ecdsaP256Sign } from './ecdsa-p256.ts';
import { ed25519Sign } from './ed25519.ts';
import { hmacSha256Sign } from './hmac-sha256.ts';
import { type HybridEd25519MlDsa65PrivateKey, hybridEd25519MlDsa65Sign } from './hybrid-ed25519-mldsa65.ts';

/** A private KeyObject for the single-key suites (the secret key for HMAC); both halves for the hybrid. */
export type SigningKey = KeyObject | HybridEd25519MlDsa65PrivateKey;

/** Signs exactly `message` (a signing input) with `alg`; throws CoreError on a key/algorithm mismatch. */
export function signMessage(alg: SignatureAlgorithm, key: SigningKey, message: Uint8Array): Uint8Array {
  if (alg === 'ed25519+ml-dsa-65') {
    if (key instanceof KeyObject) throw new CoreError('CORE_INVALID_KEY', 'the hybrid needs both key halves');
    return hybridEd25519MlDsa65Sign(key, message);
  }
  if (!(key instanceof KeyObject)) throw new CoreError('CORE_INVALID_KEY', `${alg} needs a single KeyObject`);
  switch (alg) {
    case 'ed25519':
      return ed25519Sign(key, message);
    case 'ecdsa-p256-sha256':
      return ecdsaP256Sign(key, message);
    case 'hmac-sha256':
      return hmacSha256Sign(key, message);
    default:
      throw new CoreError('CORE_INVALID_ARGUMENT', 'unknown signature algorithm');
  }
}
