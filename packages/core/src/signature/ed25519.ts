/**
 * Ed25519 (RFC 8032, pure) over node:crypto. Keys are KeyObjects created once and reused: parsing a
 * PEM per call costs an order of magnitude (ARCHITECTURE.md, performance notes).
 * verify() never throws on attacker-controlled signatures: a malformed signature is simply invalid.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { toHex } from '../bytes.ts';
import { CoreError } from '../errors.ts';
import { sha256 } from '../hash.ts';

export const ED25519_SIGNATURE_LENGTH = 64;
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function generateEd25519KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new CoreError('CORE_INVALID_KEY', 'not an Ed25519 private key');
  }
  return new Uint8Array(sign(null, message, privateKey));
}

export function ed25519Verify(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.asymmetricKeyType !== 'ed25519') return false;
  if (signature.byteLength !== ED25519_SIGNATURE_LENGTH) return false;
  try {
    return verify(null, message, publicKey, signature);
  } catch {
    // A signature node:crypto cannot even parse is an invalid signature, not a crash.
    return false;
  }
}

/** Imports a raw 32-byte Ed25519 public key. */
export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== 32) throw new CoreError('CORE_INVALID_KEY', 'Ed25519 public key must be 32 bytes');
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CoreError('CORE_INVALID_KEY', 'invalid Ed25519 public key', { cause });
  }
}

/** Key id used in envelopes and audit entries: hex SHA-256 of the key's SubjectPublicKeyInfo DER. */
export function keyIdOf(publicKey: KeyObject): string {
  return toHex(sha256(publicKey.export({ format: 'der', type: 'spki' })));
}
