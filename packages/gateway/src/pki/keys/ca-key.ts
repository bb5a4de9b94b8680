/**
 * One CA key, whatever holds it: creates a new key through the configured provider (config `keys`,
 * docs/pki.md "Key custody") and opens an existing one from what is on disk in the CA's folder:
 *
 *   key.json  a key document (document.ts): the encrypted file provider or a PKCS#11 token;
 *   key.pem   a plaintext PKCS#8 key from a data directory made before key custody existed (legacy).
 *             It still loads, as an in-memory KeyObject; `fleetgate init` (bootstrapPki) migrates it
 *             into an encrypted key.json and removes it (migrateLegacyCaKey).
 *
 * Both present is a conflict (PKI_STATE_CONFLICT): which one signs must never be a guess.
 *
 * Threats: a CA key written in plaintext by a new installation (new keys only ever go through a
 * provider); a migration that loses the key (the encrypted document is written and opened again before
 * the plaintext file is removed); secrets in the configuration (only their locations are there).
 */
import type { KeyObject } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeysConfig } from '../../config/config.ts';
import { PkiError } from '../errors.ts';
import { readPrivateKeyIfExists } from '../internal/files.ts';
import { readKeyDocument } from './document.ts';
import { createFileCaKey, openFileCaKey } from './file-provider.ts';
import { createPkcs11CaKey, openPkcs11CaKey } from './pkcs11-provider.ts';
import { ensureGeneratedSecretFile, type SecretContext, type SecretRef } from './secret.ts';
import type { CaSigner } from './signer.ts';

export const KEY_DOCUMENT_FILE = 'key.json';
export const LEGACY_KEY_FILE = 'key.pem';

export function keyDocumentPath(caDir: string): string {
  return join(caDir, KEY_DOCUMENT_FILE);
}

export function legacyKeyPath(caDir: string): string {
  return join(caDir, LEGACY_KEY_FILE);
}

export interface CreatedCaKey {
  readonly signer: CaSigner;
  /** Files written, in order (the key document, and a generated passphrase file if there was none). */
  readonly written: readonly string[];
}

/** The file provider's passphrase source: the variable when it is set, else the (generated) file. */
async function passphraseRef(
  keys: KeysConfig,
  context: SecretContext,
  written: string[],
): Promise<SecretRef> {
  const env = context.env ?? process.env;
  const variable = env[keys.file.passphraseEnv];
  if (variable !== undefined && variable !== '') return { env: keys.file.passphraseEnv };
  const generated = await ensureGeneratedSecretFile(keys.file.passphraseFile, context.dataDir);
  if (generated !== undefined) written.push(generated);
  return { file: keys.file.passphraseFile };
}

function pinRef(keys: KeysConfig, context: SecretContext): SecretRef {
  const env = context.env ?? process.env;
  const variable = env[keys.pkcs11.pinEnv];
  if (variable !== undefined && variable !== '') return { env: keys.pkcs11.pinEnv };
  if (keys.pkcs11.pinFile !== null) return { file: keys.pkcs11.pinFile };
  throw new PkiError(
    'PKI_KEY_UNAVAILABLE',
    `PKCS#11 user PIN: environment variable ${keys.pkcs11.pinEnv} is not set`,
  );
}

/**
 * Creates a new CA key in `caDir` through the configured provider. `label` names the key in the token
 * (PKCS#11 CKA_LABEL). Refuses if the folder already has a key of either form.
 */
export async function createCaKey(
  caDir: string,
  keys: KeysConfig,
  label: string,
  context: SecretContext,
): Promise<CreatedCaKey> {
  const path = keyDocumentPath(caDir);
  if ((await readPrivateKeyIfExists(legacyKeyPath(caDir))) !== undefined) {
    throw new PkiError('PKI_STATE_CONFLICT', `a key already exists: ${legacyKeyPath(caDir)}`);
  }
  const written: string[] = [];
  let signer: CaSigner;
  if (keys.provider === 'pkcs11') {
    const options = {
      module: keys.pkcs11.module,
      tokenLabel: keys.pkcs11.tokenLabel,
      pin: pinRef(keys, context),
    };
    signer = await createPkcs11CaKey(path, options, label, context);
  } else {
    const passphrase = await passphraseRef(keys, context, written);
    signer = await createFileCaKey(path, { passphrase, scryptLogN: keys.file.scryptLogN }, context);
  }
  written.unshift(path);
  return { signer, written };
}

/**
 * The key in `caDir`: a provider's signer (key.json), a legacy plaintext KeyObject (key.pem), or
 * undefined when there is neither.
 */
export async function openCaKey(
  caDir: string,
  context: SecretContext,
): Promise<CaSigner | KeyObject | undefined> {
  const path = keyDocumentPath(caDir);
  const loaded = await readKeyDocument(path);
  const legacy = await readPrivateKeyIfExists(legacyKeyPath(caDir));
  if (loaded !== undefined && legacy !== undefined) {
    throw new PkiError('PKI_STATE_CONFLICT', `two keys for one CA (key.json and key.pem) in ${caDir}`);
  }
  if (loaded === undefined) return legacy;
  const { document } = loaded;
  return document.provider === 'file'
    ? openFileCaKey(document, path, context)
    : openPkcs11CaKey(document, context);
}

/**
 * Moves a legacy plaintext CA key (key.pem) into an encrypted key document with the file provider —
 * whatever `keys.provider` says, because a key that once existed in plaintext cannot become one born in
 * a token (roll the CA over with the pkcs11 provider for that). The document is written and opened
 * again before key.pem is removed. Returns the written paths, or [] when there was nothing to migrate.
 */
export async function migrateLegacyCaKey(
  caDir: string,
  keys: KeysConfig,
  context: SecretContext,
): Promise<string[]> {
  const legacy = await readPrivateKeyIfExists(legacyKeyPath(caDir));
  if (legacy === undefined) return [];
  const path = keyDocumentPath(caDir);
  if ((await readKeyDocument(path)) !== undefined) {
    throw new PkiError('PKI_STATE_CONFLICT', `two keys for one CA (key.json and key.pem) in ${caDir}`);
  }
  const written: string[] = [];
  const passphrase = await passphraseRef(keys, context, written);
  const signer = await createFileCaKey(
    path,
    { passphrase, scryptLogN: keys.file.scryptLogN },
    context,
    legacy,
  );
  try {
    const reread = await readKeyDocument(path);
    if (reread?.document.provider !== 'file')
      throw new PkiError('PKI_KEY_UNAVAILABLE', `could not re-read ${path}`);
    await (await openFileCaKey(reread.document, path, context)).close();
  } catch (error) {
    await rm(path, { force: true }); // keep the plaintext key: the migration did not take
    throw error;
  }
  await signer.close();
  await rm(legacyKeyPath(caDir));
  return [path, ...written];
}
