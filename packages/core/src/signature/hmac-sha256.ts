/**
 * HMAC-SHA256 (RFC 2104; FIPS 198-1) over node:crypto, for constrained ECUs that cannot afford public-key
 * signatures and instead share a per-device symmetric key with the gateway.
 *
 * Threats and rules:
 *  - Short keys are guessable offline from one observed tag: keys must be at least 32 bytes (the hash
 *    output length, RFC 2104 §3's recommended minimum for full strength). A shorter key is refused at
 *    import and at use.
 *  - Truncated tags (RFC 2104 §5 allows them) trade forgery resistance for bytes: a 16-byte tag is a
 *    2^-128 guess, and accepting "any prefix" is the classic bug where a 1-byte tag passes 1 time in 256.
 *    We send and accept the full 32-byte tag only; anything else is invalid.
 *  - Tag comparison is constant-time (timingSafeEqual), so response timing leaks nothing about how many
 *    leading bytes of a forged tag were right.
 *  - Keys are KeyObjects from createSecretKey, created once per device and reused: on Node 24 HMAC with a
 *    raw Buffer key runs at about a fifth of the rate (ARCHITECTURE.md, performance notes), and a
 *    KeyObject keeps the key out of casual logging.
 *  - A key id for an HMAC key is never derived from the key (a hash of a secret is a brute-force oracle);
 *    the gateway names device keys itself.
 *
 * Verification never throws on attacker-controlled tags: malformed means false.
 */
import { createHmac, createSecretKey, generateKeySync, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from '../bytes.ts';
import { CoreError } from '../errors.ts';

export const HMAC_SHA256_TAG_LENGTH = 32;
export const HMAC_SHA256_MIN_KEY_LENGTH = 32;

function isUsableKey(key: KeyObject): boolean {
  return key.type === 'secret' && (key.symmetricKeySize ?? 0) >= HMAC_SHA256_MIN_KEY_LENGTH;
}

/** A fresh random 32-byte device key. */
export function generateHmacSha256Key(): KeyObject {
  return generateKeySync('hmac', { length: HMAC_SHA256_MIN_KEY_LENGTH * 8 });
}

/** Imports raw key bytes (at least 32) as a reusable secret KeyObject. */
export function hmacSha256KeyFromBytes(raw: Uint8Array): KeyObject {
  if (raw.byteLength < HMAC_SHA256_MIN_KEY_LENGTH) {
    throw new CoreError(
      'CORE_INVALID_KEY',
      `HMAC-SHA256 key must be at least ${HMAC_SHA256_MIN_KEY_LENGTH} bytes`,
    );
  }
  return createSecretKey(raw);
}

function tagOf(key: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(message).digest());
}

/** The full 32-byte tag of `message`. */
export function hmacSha256Sign(key: KeyObject, message: Uint8Array): Uint8Array {
  if (!isUsableKey(key)) {
    throw new CoreError(
      'CORE_INVALID_KEY',
      `not an HMAC-SHA256 secret key of at least ${HMAC_SHA256_MIN_KEY_LENGTH} bytes`,
    );
  }
  return tagOf(key, message);
}

/** True only for the full, correct 32-byte tag; compared in constant time. Never throws. */
export function hmacSha256Verify(key: KeyObject, message: Uint8Array, tag: Uint8Array): boolean {
  if (!isUsableKey(key)) return false;
  // A truncated (or padded) tag is refused outright, never compared as a prefix.
  if (tag.byteLength !== HMAC_SHA256_TAG_LENGTH) return false;
  try {
    return constantTimeEqual(tagOf(key, message), tag);
  } catch {
    return false;
  }
}
