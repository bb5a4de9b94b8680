/**
 * Note keys (C2SP signed-note, "Signatures" and "Signature types"), not exported from the package.
 *
 * The algorithm of a key is read from its KeyObject, and described by a small discriminated union
 * (one case each in describeNoteKey(), encodedPublicKey(), noteSign() and noteVerify(); not a registry):
 *
 *  - Ed25519, signature type 0x01 (the spec's own), public key = the 32-byte RFC 8032 key;
 *  - ML-DSA-65 (FIPS 204), which the spec assigns no byte. It uses the spec's extension mechanism:
 *    type byte 0xff "followed by a longer identifier that is unlikely to collide" — here the 26 ASCII
 *    bytes "fleetgate.dev/ml-dsa-65/v1" (ML_DSA_65_TYPE_ID) — then the 1952-byte FIPS 204 pkEncode
 *    public key. The type prefix is fixed-length and the key is fixed-length, so the encoding is
 *    unambiguous. The signature is pure ML-DSA-65 (hedged) over the note text bytes with an empty
 *    FIPS 204 context, 3309 bytes, so any FIPS 204 implementation (OpenSSL 3.5, Go's crypto/mldsa)
 *    can check it without knowing fleetgate.
 *
 * key ID = SHA-256(key name || 0x0A || type prefix || public key encoding)[:4]
 * (the spec's RECOMMENDED rule, with the whole type prefix — 0x01, or 0xff || identifier — as the type).
 *
 * Threat: a signature of one algorithm passed off as another's. The type prefix is inside the key ID
 * hash, so an Ed25519 and an ML-DSA-65 key of the same name have different IDs and a signature line is
 * only ever checked with the one key (and algorithm) its name and ID select.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { concatBytes, toHex, utf8 } from '../../bytes.ts';
import { CoreError } from '../../errors.ts';
import { sha256 } from '../../hash.ts';
import { ed25519Sign, ed25519Verify } from '../../signature/ed25519.ts';
import { mlDsa65PublicKeyToRaw, mlDsa65Sign, mlDsa65Verify } from '../../signature/ml-dsa-65.ts';

export const SIG_TYPE_ED25519 = 0x01;
/** The spec's "signature types without an identifier byte assigned by this specification". */
export const SIG_TYPE_EXTENSION = 0xff;
/** Our identifier after 0xff for ML-DSA-65 note signatures (see the module comment). */
export const ML_DSA_65_TYPE_ID = 'fleetgate.dev/ml-dsa-65/v1';
/** 0xff || "fleetgate.dev/ml-dsa-65/v1": the bytes that play the signature type's role for ML-DSA-65. */
export const ML_DSA_65_TYPE_PREFIX: Uint8Array = concatBytes(
  new Uint8Array([SIG_TYPE_EXTENSION]),
  utf8(ML_DSA_65_TYPE_ID),
);
const ED25519_SPKI_PREFIX = '302a300506032b6570032100';

export interface Ed25519NoteKey {
  readonly alg: 'ed25519';
  /** Signature type identifier byte. */
  readonly sigType: typeof SIG_TYPE_ED25519;
  /** The 32-byte RFC 8032 public key. */
  readonly rawPublicKey: Uint8Array;
}

export interface MlDsa65NoteKey {
  readonly alg: 'ml-dsa-65';
  /** Signature type identifier byte: the extension byte, followed by ML_DSA_65_TYPE_ID. */
  readonly sigType: typeof SIG_TYPE_EXTENSION;
  /** The 1952-byte FIPS 204 pkEncode public key. */
  readonly rawPublicKey: Uint8Array;
}

/** Every algorithm a note key can have. */
export type NoteKeyDescription = Ed25519NoteKey | MlDsa65NoteKey;

/** Describes a public or private KeyObject; refuses algorithms notes do not support with CORE_INVALID_KEY. */
export function describeNoteKey(key: KeyObject): NoteKeyDescription {
  if (key === null || typeof key !== 'object' || typeof key.asymmetricKeyType !== 'string') {
    throw new CoreError('CORE_INVALID_KEY', 'note keys must be asymmetric KeyObjects');
  }
  switch (key.asymmetricKeyType) {
    case 'ed25519': {
      const publicKey = key.type === 'private' ? createPublicKey(key) : key;
      const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
      if (spki.byteLength !== 44 || toHex(spki.subarray(0, 12)) !== ED25519_SPKI_PREFIX) {
        throw new CoreError('CORE_INVALID_KEY', 'unexpected Ed25519 public key encoding');
      }
      return { alg: 'ed25519', sigType: SIG_TYPE_ED25519, rawPublicKey: spki.slice(12) };
    }
    case 'ml-dsa-65':
      return { alg: 'ml-dsa-65', sigType: SIG_TYPE_EXTENSION, rawPublicKey: mlDsa65PublicKeyToRaw(key) };
    default:
      throw new CoreError('CORE_INVALID_KEY', `signed notes do not support ${key.asymmetricKeyType} keys`);
  }
}

/** The public key encoding that follows the type byte in key IDs and verifier keys. */
export function encodedPublicKey(description: NoteKeyDescription): Uint8Array {
  switch (description.alg) {
    case 'ed25519':
      return concatBytes(new Uint8Array([description.sigType]), description.rawPublicKey);
    case 'ml-dsa-65':
      return concatBytes(ML_DSA_65_TYPE_PREFIX, description.rawPublicKey);
  }
}

/** The 4-byte key ID recommended by the spec (and required for Ed25519); see the module comment. */
export function noteKeyIdBytes(name: string, description: NoteKeyDescription): Uint8Array {
  return sha256(utf8(name), new Uint8Array([0x0a]), encodedPublicKey(description)).slice(0, 4);
}

export function noteSign(
  privateKey: KeyObject,
  description: NoteKeyDescription,
  text: Uint8Array,
): Uint8Array {
  switch (description.alg) {
    case 'ed25519':
      return ed25519Sign(privateKey, text);
    case 'ml-dsa-65':
      return mlDsa65Sign(privateKey, text);
  }
}

/** Never throws on an attacker-supplied signature: a malformed one is simply invalid. */
export function noteVerify(
  publicKey: KeyObject,
  description: NoteKeyDescription,
  text: Uint8Array,
  signature: Uint8Array,
): boolean {
  switch (description.alg) {
    case 'ed25519':
      return ed25519Verify(publicKey, text, signature);
    case 'ml-dsa-65':
      return mlDsa65Verify(publicKey, text, signature);
  }
}
