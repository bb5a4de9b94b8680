/**
 * Verifier keys of C2SP signed notes in the text form of golang.org/x/mod/sumdb/note, the form given to
 * auditors and witnesses out of band:
 *
 *   <name>+<key ID, 8 lower-case hex digits>+<base64(signature type || public key)>
 *
 * e.g. "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW". The key ID is
 * SHA-256(name || 0x0A || type || public key)[:4] (https://c2sp.org/signed-note, "Signatures"); a
 * parsed key whose ID does not match its name and key is refused. Supported types: 0x01 Ed25519, and
 * ML-DSA-65 as 0xff || "fleetgate.dev/ml-dsa-65/v1" || 1952-byte key (the spec's extension mechanism;
 * ./internal/note-key.ts says why).
 *
 * A verifier key is configuration an operator pastes in, but it may come from a file or a web form:
 * parse defensively, with a 16 KiB limit (an ML-DSA-65 vkey is about 2.7 KB), strict base64 and
 * lower-case hex only. Every failure is CORE_INVALID_KEY.
 */
import type { KeyObject } from 'node:crypto';
import { toHex } from '../bytes.ts';
import { CoreError } from '../errors.ts';
import { ed25519PublicKeyFromRaw } from '../signature/ed25519.ts';
import { ML_DSA_65_PUBLIC_KEY_LENGTH, mlDsa65PublicKeyFromRaw } from '../signature/ml-dsa-65.ts';
import {
  describeNoteKey,
  encodedPublicKey,
  ML_DSA_65_TYPE_PREFIX,
  type NoteKeyDescription,
  noteKeyIdBytes,
  SIG_TYPE_ED25519,
  SIG_TYPE_EXTENSION,
} from './internal/note-key.ts';
import { fromBase64Std, isValidKeyName, toBase64Std } from './internal/syntax.ts';

/** Signature algorithms a note key can use. */
export type NoteKeyAlgorithm = NoteKeyDescription['alg'];

export interface NoteVerifierKey {
  readonly alg: NoteKeyAlgorithm;
  readonly name: string;
  /** The 4-byte key ID as 8 lower-case hex digits. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
}

const MAX_VKEY_LENGTH = 16 * 1024;
const KEY_ID_RE = /^[0-9a-f]{8}$/;

/** Encodes `<name>+<keyid hex>+<base64(type || public key)>` for a public (or private) note key. */
export function encodeVerifierKey(name: string, publicKey: KeyObject): string {
  if (!isValidKeyName(name)) throw new CoreError('CORE_INVALID_ARGUMENT', 'invalid note key name');
  const description = describeNoteKey(publicKey);
  const keyId = toHex(noteKeyIdBytes(name, description));
  return `${name}+${keyId}+${toBase64Std(encodedPublicKey(description))}`;
}

/** Parses a verifier key string; refuses bad syntax, unknown types and a key ID that does not match. */
export function parseVerifierKey(vkey: string): NoteVerifierKey {
  if (typeof vkey !== 'string' || vkey.length > MAX_VKEY_LENGTH) {
    throw new CoreError('CORE_INVALID_KEY', 'verifier key must be a string of at most 16 KiB');
  }
  // The name and the key ID contain no '+'; the base64 key may.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw new CoreError('CORE_INVALID_KEY', 'verifier key is not name+keyid+key');
  const name = vkey.slice(0, first);
  const keyId = vkey.slice(first + 1, second);
  const key64 = vkey.slice(second + 1);
  if (!isValidKeyName(name)) throw new CoreError('CORE_INVALID_KEY', 'verifier key has an invalid name');
  if (!KEY_ID_RE.test(keyId)) {
    throw new CoreError('CORE_INVALID_KEY', 'verifier key ID is not 8 lower-case hex digits');
  }
  const encoded = fromBase64Std(key64, 'CORE_INVALID_KEY', 'verifier public key');
  const [sigType] = encoded;
  let description: NoteKeyDescription;
  let publicKey: KeyObject;
  switch (sigType) {
    case SIG_TYPE_ED25519: {
      const raw = encoded.slice(1);
      if (raw.byteLength !== 32)
        throw new CoreError('CORE_INVALID_KEY', 'Ed25519 verifier key must be 32 bytes');
      publicKey = ed25519PublicKeyFromRaw(raw);
      description = { alg: 'ed25519', sigType: SIG_TYPE_ED25519, rawPublicKey: raw };
      break;
    }
    case SIG_TYPE_EXTENSION: {
      const prefix = encoded.subarray(0, ML_DSA_65_TYPE_PREFIX.byteLength);
      if (toHex(prefix) !== toHex(ML_DSA_65_TYPE_PREFIX)) {
        throw new CoreError('CORE_INVALID_KEY', 'verifier key has an unsupported signature type');
      }
      const raw = encoded.slice(ML_DSA_65_TYPE_PREFIX.byteLength);
      if (raw.byteLength !== ML_DSA_65_PUBLIC_KEY_LENGTH) {
        throw new CoreError('CORE_INVALID_KEY', 'ML-DSA-65 verifier key must be 1952 bytes');
      }
      publicKey = mlDsa65PublicKeyFromRaw(raw);
      description = { alg: 'ml-dsa-65', sigType: SIG_TYPE_EXTENSION, rawPublicKey: raw };
      break;
    }
    default:
      throw new CoreError('CORE_INVALID_KEY', 'verifier key has an unsupported signature type');
  }
  if (toHex(noteKeyIdBytes(name, description)) !== keyId) {
    throw new CoreError('CORE_INVALID_KEY', 'verifier key ID does not match its name and public key');
  }
  return { alg: description.alg, name, keyId, publicKey };
}
