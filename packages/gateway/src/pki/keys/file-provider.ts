/**
 * The encrypted local-file key provider — the default, and the demo's: the CA private key (PKCS#8 DER)
 * encrypted with AES-256-GCM (NIST SP 800-38D) under a key derived from a passphrase with scrypt
 * (RFC 7914; N ≥ 2^15, r 8, p 1, a fresh 16-octet random salt and 12-octet IV per file), stored as a
 * key document (document.ts) at mode 0600. The passphrase comes from an environment variable or a 0600
 * file (secret.ts). Every header field — format, algorithm, public key and KDF parameters — is bound
 * into the GCM additional data, so a document whose parameters were edited does not decrypt.
 *
 * After decryption the key is a node:crypto KeyObject held inside the signer's closure; the plaintext
 * buffer is zeroed, and the key never leaves the process or reaches a log.
 *
 * Threats: a copied key file (useless without the passphrase, at scrypt cost per guess); a tampered
 * file (GCM authentication fails; the decrypted key must also match the recorded public key); a
 * downgraded KDF (parameters are bounded on read and authenticated); a wrong passphrase reported with a
 * clear code (PKI_KEY_UNAVAILABLE) rather than an OpenSSL error string.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scrypt,
} from 'node:crypto';
import { PkiError } from '../errors.ts';
import {
  type FileKeyDocument,
  KEY_ALGORITHM,
  KEY_DOCUMENT_FORMAT,
  MAX_SCRYPT_LOG_N,
  MIN_SCRYPT_LOG_N,
  spkiBase64,
  writeKeyDocument,
} from './document.ts';
import { readSecret, type SecretContext, type SecretRef } from './secret.ts';
import { type CaSigner, isP256PublicKey, keyObjectSigner } from './signer.ts';

export interface FileProviderOptions {
  /** Where the passphrase is read from. */
  readonly passphrase: SecretRef;
  /** scrypt cost, log2 N; default 15 (N = 32768, 32 MiB, about 60 ms here). */
  readonly scryptLogN?: number;
}

/** Passphrases shorter than this are refused. */
export const MIN_PASSPHRASE_LENGTH = 16;

function deriveKey(passphrase: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    // scrypt needs 128·r·N bytes; node's default maxmem (32 MiB) is exactly 2^15 · 8 · 128, so raise it.
    scrypt(passphrase, salt, 32, { N, r: 8, p: 1, maxmem: 256 * 8 * N }, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

function additionalData(doc: Omit<FileKeyDocument, 'cipher' | 'ciphertext' | 'passphrase'>): Buffer {
  return Buffer.from(
    JSON.stringify([
      doc.format,
      doc.provider,
      doc.algorithm,
      doc.publicKey,
      doc.kdf.name,
      doc.kdf.logN,
      doc.kdf.r,
      doc.kdf.p,
      doc.kdf.salt,
    ]),
    'utf8',
  );
}

function fileDescription(path: string, document: FileKeyDocument): string {
  return `encrypted file ${path} (scrypt 2^${document.kdf.logN}, AES-256-GCM)`;
}

/** Encrypts a P-256 private key into a key document (not written). */
export async function encryptCaKey(
  privateKey: KeyObject,
  passphrase: string,
  options: FileProviderOptions,
): Promise<FileKeyDocument> {
  if (privateKey.type !== 'private' || !isP256PublicKey(privateKey)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'a CA key must be a P-256 private key');
  }
  const logN = options.scryptLogN ?? MIN_SCRYPT_LOG_N;
  if (!Number.isInteger(logN) || logN < MIN_SCRYPT_LOG_N || logN > MAX_SCRYPT_LOG_N) {
    throw new PkiError(
      'PKI_INVALID_ARGUMENT',
      `scrypt cost must be 2^${MIN_SCRYPT_LOG_N} to 2^${MAX_SCRYPT_LOG_N}`,
    );
  }
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const header: Omit<FileKeyDocument, 'cipher' | 'ciphertext' | 'passphrase'> = {
    format: KEY_DOCUMENT_FORMAT,
    provider: 'file',
    algorithm: KEY_ALGORITHM,
    publicKey: spkiBase64(createPublicKey(privateKey)),
    kdf: { name: 'scrypt', logN, r: 8, p: 1, salt: salt.toString('base64') },
  };
  const key = await deriveKey(passphrase, salt, logN);
  const plaintext = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(additionalData(header));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      ...header,
      passphrase: options.passphrase,
      cipher: { name: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') },
      ciphertext: ciphertext.toString('base64'),
    };
  } finally {
    plaintext.fill(0);
    key.fill(0);
  }
}

/** Decrypts a document's key; PKI_KEY_UNAVAILABLE for a wrong passphrase or an altered document. */
export async function decryptCaKey(
  document: FileKeyDocument,
  passphrase: string,
  path: string,
): Promise<KeyObject> {
  const key = await deriveKey(passphrase, Buffer.from(document.kdf.salt, 'base64'), document.kdf.logN);
  const plaintext = ((): Buffer => {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(document.cipher.iv, 'base64'));
      decipher.setAAD(additionalData(document));
      decipher.setAuthTag(Buffer.from(document.cipher.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(document.ciphertext, 'base64')), decipher.final()]);
    } catch (cause) {
      throw new PkiError(
        'PKI_KEY_UNAVAILABLE',
        `cannot decrypt ${path}: wrong passphrase, or the file was altered`,
        {
          cause,
        },
      );
    } finally {
      key.fill(0);
    }
  })();
  try {
    const privateKey = createPrivateKey({ key: plaintext, format: 'der', type: 'pkcs8' });
    if (!isP256PublicKey(privateKey) || spkiBase64(createPublicKey(privateKey)) !== document.publicKey) {
      throw new PkiError(
        'PKI_KEY_UNAVAILABLE',
        `decrypted key does not match the recorded public key: ${path}`,
      );
    }
    return privateKey;
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError('PKI_KEY_UNAVAILABLE', `decrypted key is not a PKCS#8 key: ${path}`, { cause });
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Creates the key document at `path` for a new P-256 key (or for `existing`, when a plaintext key is
 * migrated), checks that it decrypts back to the same key, and returns a signer for it.
 */
export async function createFileCaKey(
  path: string,
  options: FileProviderOptions,
  context: SecretContext,
  existing?: KeyObject,
): Promise<CaSigner> {
  const passphrase = await readSecret(
    options.passphrase,
    context,
    'CA key passphrase',
    MIN_PASSPHRASE_LENGTH,
  );
  const privateKey = existing ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const document = await encryptCaKey(privateKey, passphrase, options);
  await decryptCaKey(document, passphrase, path); // a document we could not open again is never written
  await writeKeyDocument(path, document);
  return keyObjectSigner(privateKey, 'file', fileDescription(path, document));
}

/** A signer for an existing file-provider document. */
export async function openFileCaKey(
  document: FileKeyDocument,
  path: string,
  context: SecretContext,
): Promise<CaSigner> {
  const passphrase = await readSecret(
    document.passphrase,
    context,
    'CA key passphrase',
    MIN_PASSPHRASE_LENGTH,
  );
  return keyObjectSigner(
    await decryptCaKey(document, passphrase, path),
    'file',
    fileDescription(path, document),
  );
}
