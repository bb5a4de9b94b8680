/**
 * Hybrid Ed25519 (RFC 8032) + ML-DSA-65 (FIPS 204) composite signature: secure while EITHER component
 * is unbroken — Ed25519 against a flaw in the young lattice scheme or its implementation, ML-DSA against
 * a quantum adversary. Construction and comparison with the IETF composite ML-DSA draft: docs/signatures.md.
 *
 *   M'        = "FLEETGATE-HYBRID-ED25519-MLDSA65\n" || M          (M: our signingInput, already domain-separated)
 *   sig_ed    = Ed25519.Sign(sk_ed, M')                                        64 bytes
 *   sig_mldsa = ML-DSA-65.Sign(sk_mldsa, M', ctx = "FLEETGATE-HYBRID-ED25519-MLDSA65")   3309 bytes
 *   signature = sig_ed || sig_mldsa                                            3373 bytes, fixed layout
 *   key id    = hex SHA-256("FLEETGATE-HYBRID-ED25519-MLDSA65-KEY\n" || SPKI(pk_ed) || SPKI(pk_mldsa))
 *
 * Threats:
 *  - Downgrade by stripping: verification requires exactly 3373 bytes and BOTH components to verify; a
 *    lone component, a truncated or padded composite, or one with a zeroed half never verifies.
 *  - Component reuse (separability): both components sign M', which binds the algorithm identifier, and
 *    our plain signing input starts with "FLEETGATE-SIG-V1\n" — neither message is a prefix of the other —
 *    so the Ed25519 half of a hybrid is not a valid plain Ed25519 signature over the bare signing input,
 *    and a plain Ed25519 signature cannot be grafted into a hybrid. The ML-DSA half additionally carries
 *    its own FIPS 204 context, so it is not a plain (empty-context) ML-DSA signature over anything.
 *  - Swapped components: the layout is fixed by position; ML-DSA bytes in the Ed25519 slot fail.
 *  - Parameter-set confusion: each component key must be of its exact type (Ed25519, ML-DSA-65).
 *
 * Verification never throws on attacker-controlled input: malformed means false.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { concatBytes, toHex, utf8 } from '../bytes.ts';
import { CoreError } from '../errors.ts';
import { sha256 } from '../hash.ts';
import { ED25519_SIGNATURE_LENGTH, ed25519Sign, ed25519Verify, generateEd25519KeyPair } from './ed25519.ts';
import {
  generateMlDsa65KeyPair,
  ML_DSA_65_SIGNATURE_LENGTH,
  mlDsa65Sign,
  mlDsa65Verify,
} from './ml-dsa-65.ts';

/** The algorithm identifier prepended to the message both components sign. */
export const HYBRID_ED25519_MLDSA65_LABEL = 'FLEETGATE-HYBRID-ED25519-MLDSA65\n';
export const HYBRID_ED25519_MLDSA65_SIGNATURE_LENGTH = ED25519_SIGNATURE_LENGTH + ML_DSA_65_SIGNATURE_LENGTH;

const LABEL_BYTES = utf8(HYBRID_ED25519_MLDSA65_LABEL);
/** FIPS 204 context of the ML-DSA component: the label without its newline. */
const MLDSA_CONTEXT = utf8(HYBRID_ED25519_MLDSA65_LABEL.slice(0, -1));
const KEY_ID_LABEL = utf8('FLEETGATE-HYBRID-ED25519-MLDSA65-KEY\n');

/** Both halves of a hybrid key; each a KeyObject created once and reused. */
export interface HybridEd25519MlDsa65PrivateKey {
  readonly ed25519: KeyObject;
  readonly mlDsa65: KeyObject;
}

export interface HybridEd25519MlDsa65PublicKey {
  readonly ed25519: KeyObject;
  readonly mlDsa65: KeyObject;
}

export function generateHybridEd25519MlDsa65KeyPair(): {
  privateKey: HybridEd25519MlDsa65PrivateKey;
  publicKey: HybridEd25519MlDsa65PublicKey;
} {
  const ed = generateEd25519KeyPair();
  const ml = generateMlDsa65KeyPair();
  return {
    privateKey: { ed25519: ed.privateKey, mlDsa65: ml.privateKey },
    publicKey: { ed25519: ed.publicKey, mlDsa65: ml.publicKey },
  };
}

/** M' = label || message: what each component actually signs. */
function boundMessage(message: Uint8Array): Uint8Array {
  return concatBytes(LABEL_BYTES, message);
}

/** Signs `message` with both components; returns sig_ed (64) || sig_mldsa (3309). */
export function hybridEd25519MlDsa65Sign(
  privateKey: HybridEd25519MlDsa65PrivateKey,
  message: Uint8Array,
): Uint8Array {
  const bound = boundMessage(message);
  return concatBytes(
    ed25519Sign(privateKey.ed25519, bound),
    mlDsa65Sign(privateKey.mlDsa65, bound, MLDSA_CONTEXT),
  );
}

/** True only when the layout is exact and both components verify over M'. Never throws. */
export function hybridEd25519MlDsa65Verify(
  publicKey: HybridEd25519MlDsa65PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.byteLength !== HYBRID_ED25519_MLDSA65_SIGNATURE_LENGTH) return false;
  const edSig = signature.subarray(0, ED25519_SIGNATURE_LENGTH);
  const mlSig = signature.subarray(ED25519_SIGNATURE_LENGTH);
  try {
    const bound = boundMessage(message);
    // Ed25519 first: it is the cheaper check, and a failure of either is final.
    return (
      ed25519Verify(publicKey.ed25519, bound, edSig) &&
      mlDsa65Verify(publicKey.mlDsa65, bound, mlSig, MLDSA_CONTEXT)
    );
  } catch {
    return false;
  }
}

function spkiOf(key: KeyObject, type: 'ed25519' | 'ml-dsa-65'): Uint8Array {
  if (key.asymmetricKeyType !== type) throw new CoreError('CORE_INVALID_KEY', `not an ${type} key`);
  const pub = key.type === 'public' ? key : createPublicKey(key);
  return new Uint8Array(pub.export({ format: 'der', type: 'spki' }));
}

/**
 * Composite key id: hex SHA-256 over a label and both SPKIs (fixed lengths for these key types, so the
 * concatenation is unambiguous). The label keeps it distinct from any single-key id (keyIdOf hashes an
 * SPKI, which starts with 0x30, never with "F").
 */
export function hybridEd25519MlDsa65KeyIdOf(
  key: HybridEd25519MlDsa65PublicKey | HybridEd25519MlDsa65PrivateKey,
): string {
  return toHex(sha256(KEY_ID_LABEL, spkiOf(key.ed25519, 'ed25519'), spkiOf(key.mlDsa65, 'ml-dsa-65')));
}
