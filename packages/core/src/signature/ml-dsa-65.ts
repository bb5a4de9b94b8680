/**
 * ML-DSA-65 (FIPS 204, parameter set of §4 Table 1: security category 3) over node:crypto — native in
 * Node 24 / OpenSSL 3.5, about 7,000 verifies/s a core here. Pure ML-DSA (Algorithms 2 and 3), never
 * HashML-DSA: the message is what is signed.
 *
 * Threats and rules:
 *  - Parameter-set confusion: a key of another set (ML-DSA-44/87) or another algorithm is refused — at
 *    signing with CORE_INVALID_KEY, at verification as false — so a weaker set can never stand in.
 *  - Lengths are fixed by FIPS 204 §4: signature 3309 bytes, public key 1952 bytes, seed 32 bytes.
 *    Anything else is refused before OpenSSL parses it.
 *  - Context strings (FIPS 204 §5.2: 0..255 bytes, bound into the signed message as
 *    0 || len(ctx) || ctx || M). node:crypto passes them through its `context` option, so a signature
 *    made under one context never verifies under another. Our own signing inputs are already
 *    domain-separated ("FLEETGATE-SIG-V1\n" …), so plain use leaves the context empty; the hybrid suite
 *    sets its own. A context over 255 bytes is a caller bug when signing (CORE_INVALID_ARGUMENT) and
 *    simply invalid when verifying.
 *  - Signing is hedged (FIPS 204 §3.4: fresh randomness per signature, OpenSSL's default). node:crypto
 *    exposes neither the deterministic variant nor an explicit rnd, so signatures are not reproducible;
 *    known-answer tests check key generation from a seed and verification instead.
 *  - Key id: hex SHA-256 of the SubjectPublicKeyInfo DER, exactly like keyIdOf for Ed25519.
 *
 * Verification never throws on attacker-controlled signatures: malformed means false.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { CoreError } from '../errors.ts';
import { keyIdOf } from './ed25519.ts';

export const ML_DSA_65_SIGNATURE_LENGTH = 3309;
export const ML_DSA_65_PUBLIC_KEY_LENGTH = 1952;
export const ML_DSA_65_SEED_LENGTH = 32;
export const ML_DSA_MAX_CONTEXT_LENGTH = 255;

const ASYMMETRIC_KEY_TYPE = 'ml-dsa-65';
/** SubjectPublicKeyInfo header for id-ml-dsa-65 (2.16.840.1.101.3.4.3.18), RFC 9881 / FIPS 204 OID. */
const SPKI_PREFIX = Buffer.from('308207b2300b0609608648016503040312038207a100', 'hex');
/**
 * PKCS#8 header for the seed-only private key form (RFC 9881: the CHOICE `seed [0] IMPLICIT OCTET STRING
 * (SIZE (32))`, i.e. tag 0x80, length 0x20, inside the privateKey OCTET STRING).
 */
const PKCS8_SEED_PREFIX = Buffer.from('3034020100300b060960864801650304031204228020', 'hex');

const EMPTY = new Uint8Array(0);

function isMlDsa65(key: KeyObject): boolean {
  return key.asymmetricKeyType === ASYMMETRIC_KEY_TYPE;
}

export function generateMlDsa65KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync(ASYMMETRIC_KEY_TYPE);
}

/** FIPS 204 Algorithm 2 (ML-DSA.Sign, hedged) over `message` with an optional context (≤ 255 bytes). */
export function mlDsa65Sign(
  privateKey: KeyObject,
  message: Uint8Array,
  context: Uint8Array = EMPTY,
): Uint8Array {
  if (privateKey.type !== 'private' || !isMlDsa65(privateKey)) {
    throw new CoreError('CORE_INVALID_KEY', 'not an ML-DSA-65 private key');
  }
  if (context.byteLength > ML_DSA_MAX_CONTEXT_LENGTH) {
    throw new CoreError(
      'CORE_INVALID_ARGUMENT',
      `ML-DSA context must be at most ${ML_DSA_MAX_CONTEXT_LENGTH} bytes`,
    );
  }
  const key = context.byteLength === 0 ? privateKey : { key: privateKey, context };
  return new Uint8Array(sign(null, message, key));
}

/** FIPS 204 Algorithm 3 (ML-DSA.Verify). Never throws. */
export function mlDsa65Verify(
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
  context: Uint8Array = EMPTY,
): boolean {
  if (!isMlDsa65(publicKey)) return false;
  if (signature.byteLength !== ML_DSA_65_SIGNATURE_LENGTH) return false;
  if (context.byteLength > ML_DSA_MAX_CONTEXT_LENGTH) return false;
  try {
    const key = context.byteLength === 0 ? publicKey : { key: publicKey, context };
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Imports a raw 1952-byte ML-DSA-65 public key (FIPS 204 pkEncode). */
export function mlDsa65PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== ML_DSA_65_PUBLIC_KEY_LENGTH) {
    throw new CoreError(
      'CORE_INVALID_KEY',
      `ML-DSA-65 public key must be ${ML_DSA_65_PUBLIC_KEY_LENGTH} bytes`,
    );
  }
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CoreError('CORE_INVALID_KEY', 'invalid ML-DSA-65 public key', { cause });
  }
}

/** The private key determined by a 32-byte seed ξ (FIPS 204 Algorithm 6, ML-DSA.KeyGen_internal). */
export function mlDsa65PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.byteLength !== ML_DSA_65_SEED_LENGTH) {
    throw new CoreError('CORE_INVALID_KEY', `ML-DSA-65 seed must be ${ML_DSA_65_SEED_LENGTH} bytes`);
  }
  try {
    return createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new CoreError('CORE_INVALID_KEY', 'invalid ML-DSA-65 seed', { cause });
  }
}

/** The raw 1952-byte public key (pkEncode), e.g. for a C2SP note verifier key. */
export function mlDsa65PublicKeyToRaw(publicKey: KeyObject): Uint8Array {
  if (!isMlDsa65(publicKey)) throw new CoreError('CORE_INVALID_KEY', 'not an ML-DSA-65 key');
  const pub = publicKey.type === 'public' ? publicKey : createPublicKey(publicKey);
  const spki = pub.export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.byteLength));
}

/** Key id: hex SHA-256 of the SubjectPublicKeyInfo DER (as keyIdOf); refuses other key types. */
export function mlDsa65KeyIdOf(publicKey: KeyObject): string {
  if (!isMlDsa65(publicKey)) throw new CoreError('CORE_INVALID_KEY', 'not an ML-DSA-65 key');
  return keyIdOf(publicKey.type === 'public' ? publicKey : createPublicKey(publicKey));
}
