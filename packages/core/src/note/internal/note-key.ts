/**
 * Note keys (C2SP signed-note, "Signatures" and "Signature types"), not exported from the package.
 *
 * The algorithm of a key is read from its KeyObject, and described by a small discriminated union:
 * today only Ed25519 (signature type 0x01); ML-DSA-65 will be one more member and one more case in
 * describeNoteKey(), noteSign() and noteVerify() (a later issue), not a registry.
 *
 * key ID = SHA-256(key name || 0x0A || signature type || public key encoding)[:4]
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { concatBytes, toHex, utf8 } from '../../bytes.ts';
import { CoreError } from '../../errors.ts';
import { sha256 } from '../../hash.ts';
import { ed25519Sign, ed25519Verify } from '../../signature/ed25519.ts';

export const SIG_TYPE_ED25519 = 0x01;
const ED25519_SPKI_PREFIX = '302a300506032b6570032100';

export interface Ed25519NoteKey {
  readonly alg: 'ed25519';
  /** Signature type identifier byte. */
  readonly sigType: typeof SIG_TYPE_ED25519;
  /** The 32-byte RFC 8032 public key. */
  readonly rawPublicKey: Uint8Array;
}

/** Every algorithm a note key can have. */
export type NoteKeyDescription = Ed25519NoteKey;

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
    default:
      throw new CoreError('CORE_INVALID_KEY', `signed notes do not support ${key.asymmetricKeyType} keys`);
  }
}

/** The public key encoding that follows the type byte in key IDs and verifier keys. */
export function encodedPublicKey(description: NoteKeyDescription): Uint8Array {
  switch (description.alg) {
    case 'ed25519':
      return concatBytes(new Uint8Array([description.sigType]), description.rawPublicKey);
  }
}

/** The 4-byte key ID recommended by the spec (and required for Ed25519). */
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
  }
}
