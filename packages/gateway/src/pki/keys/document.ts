/**
 * The key document: the one file (DIR/pki/<ca>/key.json, 0600) that says where a CA private key is and
 * how to reach it. For the file provider it holds the key itself, encrypted (scrypt + AES-256-GCM); for
 * PKCS#11 it names the module, the token and the key object, and holds no key material at all. Both
 * record the public key, so a document can never silently point at another key, and where the
 * passphrase or PIN comes from (secret.ts), never the secret.
 *
 *   { "format": "fleetgate-ca-key/v1", "provider": "file", "algorithm": "ECDSA-P256-SHA256",
 *     "publicKey": <base64 SPKI DER>, "passphrase": {"env": NAME} | {"file": PATH},
 *     "kdf": {"name": "scrypt", "logN": 15..20, "r": 8, "p": 1, "salt": <base64, 16-64 octets>},
 *     "cipher": {"name": "aes-256-gcm", "iv": <base64, 12 octets>, "tag": <base64, 16 octets>},
 *     "ciphertext": <base64 PKCS#8 DER> }
 *   { "format": "fleetgate-ca-key/v1", "provider": "pkcs11", "algorithm": "ECDSA-P256-SHA256",
 *     "publicKey": …, "module": <absolute path>, "tokenLabel": …, "keyId": <hex CKA_ID>,
 *     "keyLabel": …, "pin": {"env": NAME} | {"file": PATH} }
 *
 * Threats: a document edited to weaken the KDF (cost below 2^15 refused; every parameter is bound into
 * the GCM additional data), to load another shared library (the module path must be absolute, a
 * regular file, and not writable by group or others — checked when it is loaded), or to exhaust memory
 * (size, field and cost limits). The document is parsed defensively: anything unexpected is refused.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { PkiError } from '../errors.ts';
import { PRIVATE_FILE_MODE, statPrivateFile, writeFileAtomic } from '../internal/files.ts';
import { parseSecretRef, type SecretRef } from './secret.ts';
import { isP256PublicKey } from './signer.ts';

export const KEY_DOCUMENT_FORMAT = 'fleetgate-ca-key/v1';
export const KEY_ALGORITHM = 'ECDSA-P256-SHA256';
/** scrypt cost bounds (log2 N): 2^15 is the floor we accept, 2^20 (1 GiB with r = 8) the ceiling. */
export const MIN_SCRYPT_LOG_N = 15;
export const MAX_SCRYPT_LOG_N = 20;
const MAX_DOCUMENT_BYTES = 16 * 1024;

export interface FileKeyDocument {
  readonly format: typeof KEY_DOCUMENT_FORMAT;
  readonly provider: 'file';
  readonly algorithm: typeof KEY_ALGORITHM;
  readonly publicKey: string;
  readonly passphrase: SecretRef;
  readonly kdf: {
    readonly name: 'scrypt';
    readonly logN: number;
    readonly r: 8;
    readonly p: 1;
    readonly salt: string;
  };
  readonly cipher: { readonly name: 'aes-256-gcm'; readonly iv: string; readonly tag: string };
  readonly ciphertext: string;
}

export interface Pkcs11KeyDocument {
  readonly format: typeof KEY_DOCUMENT_FORMAT;
  readonly provider: 'pkcs11';
  readonly algorithm: typeof KEY_ALGORITHM;
  readonly publicKey: string;
  readonly module: string;
  readonly tokenLabel: string;
  readonly keyId: string;
  readonly keyLabel: string;
  readonly pin: SecretRef;
}

export type KeyDocument = FileKeyDocument | Pkcs11KeyDocument;

export interface LoadedKeyDocument {
  readonly document: KeyDocument;
  /** SHA-256 of the file's bytes: a cache key that changes whenever the file does. */
  readonly digest: string;
}

type Obj = Record<string, unknown>;

function bad(path: string, what: string): PkiError {
  return new PkiError('PKI_KEY_UNAVAILABLE', `malformed key document (${what}): ${path}`);
}

function object(value: unknown, keys: readonly string[], path: string, where: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(path, `${where} is not an object`);
  for (const key of Object.keys(value))
    if (!keys.includes(key)) throw bad(path, `unknown field ${where}.${key}`);
  return value as Obj;
}

function base64(value: unknown, path: string, where: string, min: number, max: number): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
    throw bad(path, `${where} is not base64`);
  const length = Buffer.from(value, 'base64').length;
  if (length < min || length > max) throw bad(path, `${where} has ${length} octets`);
  return value;
}

function text(value: unknown, path: string, where: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw bad(path, `${where} is invalid`);
  return value;
}

function secret(value: unknown, path: string, where: string): SecretRef {
  const ref = parseSecretRef(value);
  if (ref === undefined) throw bad(path, `${where} must be {"env": NAME} or {"file": PATH}`);
  return ref;
}

/** Validates a parsed document; `path` only labels errors. */
export function parseKeyDocument(value: unknown, path: string): KeyDocument {
  const head = object(
    value,
    [
      'format',
      'provider',
      'algorithm',
      'publicKey',
      'passphrase',
      'kdf',
      'cipher',
      'ciphertext',
      'module',
      'tokenLabel',
      'keyId',
      'keyLabel',
      'pin',
    ],
    path,
    '$',
  );
  if (head.format !== KEY_DOCUMENT_FORMAT) throw bad(path, 'unknown format');
  if (head.algorithm !== KEY_ALGORITHM) throw bad(path, 'unknown algorithm');
  const publicKey = base64(head.publicKey, path, 'publicKey', 91, 91); // P-256 SPKI DER is 91 octets
  publicKeyOfDocument({ publicKey }, path);
  if (head.provider === 'file') {
    object(
      head,
      ['format', 'provider', 'algorithm', 'publicKey', 'passphrase', 'kdf', 'cipher', 'ciphertext'],
      path,
      '$',
    );
    const kdf = object(head.kdf, ['name', 'logN', 'r', 'p', 'salt'], path, 'kdf');
    const logN = kdf.logN;
    if (kdf.name !== 'scrypt' || kdf.r !== 8 || kdf.p !== 1)
      throw bad(path, 'kdf must be scrypt with r 8, p 1');
    if (
      typeof logN !== 'number' ||
      !Number.isInteger(logN) ||
      logN < MIN_SCRYPT_LOG_N ||
      logN > MAX_SCRYPT_LOG_N
    ) {
      throw bad(path, `kdf.logN must be ${MIN_SCRYPT_LOG_N}-${MAX_SCRYPT_LOG_N}`);
    }
    const cipher = object(head.cipher, ['name', 'iv', 'tag'], path, 'cipher');
    if (cipher.name !== 'aes-256-gcm') throw bad(path, 'cipher must be aes-256-gcm');
    return {
      format: KEY_DOCUMENT_FORMAT,
      provider: 'file',
      algorithm: KEY_ALGORITHM,
      publicKey,
      passphrase: secret(head.passphrase, path, 'passphrase'),
      kdf: { name: 'scrypt', logN, r: 8, p: 1, salt: base64(kdf.salt, path, 'kdf.salt', 16, 64) },
      cipher: {
        name: 'aes-256-gcm',
        iv: base64(cipher.iv, path, 'cipher.iv', 12, 12),
        tag: base64(cipher.tag, path, 'cipher.tag', 16, 16),
      },
      ciphertext: base64(head.ciphertext, path, 'ciphertext', 32, 1024),
    };
  }
  if (head.provider === 'pkcs11') {
    object(
      head,
      ['format', 'provider', 'algorithm', 'publicKey', 'module', 'tokenLabel', 'keyId', 'keyLabel', 'pin'],
      path,
      '$',
    );
    return {
      format: KEY_DOCUMENT_FORMAT,
      provider: 'pkcs11',
      algorithm: KEY_ALGORITHM,
      publicKey,
      module: text(head.module, path, 'module', /^\/[^\0]{1,4095}$/),
      tokenLabel: text(head.tokenLabel, path, 'tokenLabel', /^[\x20-\x7e]{1,32}$/),
      keyId: text(head.keyId, path, 'keyId', /^(?:[0-9a-f]{2}){1,64}$/),
      keyLabel: text(head.keyLabel, path, 'keyLabel', /^[\x20-\x7e]{1,64}$/),
      pin: secret(head.pin, path, 'pin'),
    };
  }
  throw bad(path, 'provider must be "file" or "pkcs11"');
}

/** The P-256 public key a document records. */
export function publicKeyOfDocument(document: Pick<KeyDocument, 'publicKey'>, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(document.publicKey, 'base64'), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new PkiError('PKI_KEY_UNAVAILABLE', `malformed key document (publicKey): ${path}`, { cause });
  }
  if (!isP256PublicKey(key)) throw bad(path, 'publicKey is not P-256');
  return key;
}

export function spkiBase64(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

/** The document at `path`, or undefined if there is none. Refuses a file others can read. */
export async function readKeyDocument(path: string): Promise<LoadedKeyDocument | undefined> {
  const stat = await statPrivateFile(path);
  if (stat === undefined) return undefined;
  if (stat.size > MAX_DOCUMENT_BYTES) throw bad(path, 'file too large');
  const bytes = await readFile(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new PkiError('PKI_KEY_UNAVAILABLE', `malformed key document (not JSON): ${path}`, { cause });
  }
  return {
    document: parseKeyDocument(parsed, path),
    digest: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** Writes a new document (0600). Never replaces an existing one: a key is never overwritten. */
export async function writeKeyDocument(path: string, document: KeyDocument): Promise<void> {
  let exists = true;
  try {
    await lstat(path);
  } catch (error) {
    if (!isMissing(error)) throw error;
    exists = false;
  }
  if (exists) throw new PkiError('PKI_STATE_CONFLICT', `refusing to overwrite an existing key: ${path}`);
  await writeFileAtomic(path, `${JSON.stringify(document, null, 2)}\n`, PRIVATE_FILE_MODE);
}
