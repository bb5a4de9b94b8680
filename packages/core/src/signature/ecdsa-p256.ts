/**
 * ECDSA over P-256 with SHA-256 (FIPS 186-5 §6.4; SEC 1 v2 §4.1) over node:crypto, for vehicles whose
 * secure element only does NIST curves.
 *
 * Wire form: the fixed 64-byte IEEE P1363 encoding r || s (each 32 bytes big-endian), never DER, so a
 * signature has exactly one length and no encoding to be lax about. Verification refuses, before any
 * curve arithmetic:
 *  - anything that is not exactly 64 bytes (truncated, padded, DER sent as P1363);
 *  - r or s = 0, or ≥ n (SEC 1 §4.1.4 step 1; the classic "r = 0 verifies everything" bugs);
 *  - high-S signatures, s > n/2. ECDSA is malleable: (r, n − s) is valid whenever (r, s) is. We sign
 *    only low-S (normalising after node:crypto signs) and accept only low-S, so each message has one
 *    valid signature per nonce and a malleated copy cannot pass as a different batch (BIP 62 / RFC 6979
 *    practice). Wycheproof marks some high-S signatures valid; the test lists each one we refuse.
 *
 * ecdsaP256VerifyDer is the entry point for signatures arriving as ASN.1 DER (X.509-style tooling, the
 * Wycheproof DER file). It is strict DER (X.690 §10): a SEQUENCE of two INTEGERs, short-form lengths
 * only, minimal two's-complement integers, nothing negative, no trailing bytes — any BER variant is a
 * forgery attempt surface (signature malleability through re-encoding), never repaired. After parsing,
 * the same range and low-S rules apply.
 *
 * Verification never throws on attacker-controlled signatures: malformed means false.
 */
import { generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { CoreError } from '../errors.ts';

export const ECDSA_P256_SIGNATURE_LENGTH = 64;
const SCALAR_LENGTH = 32;

/** The order n of the P-256 base point (FIPS 186-5 / SP 800-186 §3.2.1.3). */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_ORDER = P256_ORDER >> 1n;

export function generateEcdsaP256KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

function scalarOf(bytes: Uint8Array, offset: number): bigint {
  return BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset + offset, SCALAR_LENGTH).toString('hex')}`);
}

function writeScalar(out: Uint8Array, offset: number, value: bigint): void {
  out.set(Buffer.from(value.toString(16).padStart(SCALAR_LENGTH * 2, '0'), 'hex'), offset);
}

/** Signs SHA-256(message); returns r || s (64 bytes) with s ≤ n/2. */
export function ecdsaP256Sign(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  if (privateKey.type !== 'private' || !isP256(privateKey)) {
    throw new CoreError('CORE_INVALID_KEY', 'not an ECDSA P-256 private key');
  }
  const signature = new Uint8Array(sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  const s = scalarOf(signature, SCALAR_LENGTH);
  // Malleability: publish only the low-S form of the pair (r, s) / (r, n − s).
  if (s > HALF_ORDER) writeScalar(signature, SCALAR_LENGTH, P256_ORDER - s);
  return signature;
}

/** Range and low-S checks on r || s; the signature is attacker-controlled. */
function scalarsAcceptable(signature: Uint8Array): boolean {
  const r = scalarOf(signature, 0);
  const s = scalarOf(signature, SCALAR_LENGTH);
  return r > 0n && r < P256_ORDER && s > 0n && s <= HALF_ORDER;
}

/** Verifies a 64-byte P1363 signature over SHA-256(message). Never throws. */
export function ecdsaP256Verify(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (!isP256(publicKey)) return false;
  if (signature.byteLength !== ECDSA_P256_SIGNATURE_LENGTH) return false;
  if (!scalarsAcceptable(signature)) return false;
  try {
    return verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/**
 * One strict-DER INTEGER at `at`: returns its value and the offset after it, or undefined when it is
 * not minimal, negative, longer than a P-256 scalar can need, or runs past the end.
 */
function readInteger(der: Uint8Array, at: number): { value: bigint; next: number } | undefined {
  if (der[at] !== 0x02) return undefined;
  const length = der[at + 1];
  // Short-form length only (a long form for < 128 is non-minimal); a scalar < n needs at most 33 bytes.
  if (length === undefined || length === 0 || length > SCALAR_LENGTH + 1) return undefined;
  const start = at + 2;
  const end = start + length;
  if (end > der.byteLength) return undefined;
  const first = der[start] as number;
  if ((first & 0x80) !== 0) return undefined; // negative
  if (first === 0 && length > 1 && ((der[start + 1] as number) & 0x80) === 0) return undefined; // padded
  const hex = Buffer.from(der.buffer, der.byteOffset + start, length).toString('hex');
  return { value: BigInt(`0x${hex}`), next: end };
}

/** Converts a strict-DER ECDSA-Sig-Value (RFC 3279 §2.2.3) to r || s, or undefined. */
function derToP1363(der: Uint8Array): Uint8Array | undefined {
  // SEQUENCE, short-form length covering exactly the rest of the input (no trailing bytes).
  if (der.byteLength < 8 || der[0] !== 0x30) return undefined;
  const bodyLength = der[1] as number;
  if (bodyLength >= 0x80 || bodyLength !== der.byteLength - 2) return undefined;
  const r = readInteger(der, 2);
  if (r === undefined) return undefined;
  const s = readInteger(der, r.next);
  if (s === undefined || s.next !== der.byteLength) return undefined;
  if (r.value >= P256_ORDER || s.value >= P256_ORDER) return undefined;
  const out = new Uint8Array(ECDSA_P256_SIGNATURE_LENGTH);
  writeScalar(out, 0, r.value);
  writeScalar(out, SCALAR_LENGTH, s.value);
  return out;
}

/** Verifies a strict-DER ECDSA signature over SHA-256(message) under the same policy. Never throws. */
export function ecdsaP256VerifyDer(publicKey: KeyObject, message: Uint8Array, der: Uint8Array): boolean {
  const p1363 = derToP1363(der);
  return p1363 !== undefined && ecdsaP256Verify(publicKey, message, p1363);
}
