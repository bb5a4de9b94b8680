/**
 * The key-wrapping key (KEK) for per-device HMAC-SHA256 secrets (docs/telemetry.md "Device keys"):
 * 32 random bytes in DIR/pki/telemetry/kek.key (mode 0600, directory 0700), created on first use.
 * A device secret is stored only wrapped, with AES-256-GCM (NIST SP 800-38D):
 *
 *   wrapped = nonce (12, random) || ciphertext || tag (16)
 *   AAD     = "fleetgate-device-key-v1\n" || vehicle id || "\n" || key id
 *
 * Threats: a copy of the store (backup, replica, SQL injection elsewhere) must not yield device secrets —
 * it holds only ciphertext; a wrapped secret moved to another vehicle's row or key id must not unwrap
 * (the AAD binds it); a KEK readable by others is refused rather than used. Limit, stated plainly: the KEK
 * is a local file, so whoever reads DIR/pki/ reads it — envelope encryption under a KMS or PKCS#11 key
 * (capability 10, "encryption at rest") replaces this file later. Every gateway node on one PostgreSQL
 * store needs the same kek.key.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { concatBytes, toHex, utf8 } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';

export const KEK_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const AAD_LABEL = 'fleetgate-device-key-v1\n';

export interface KeyWrappingKey {
  /** First 16 hex digits of SHA-256("fleetgate-kek-id\n" || key): names the KEK in device_keys.kek_id. */
  readonly id: string;
  readonly key: KeyObject;
}

export function kekPath(dataDir: string): string {
  return join(dataDir, 'pki', 'telemetry', 'kek.key');
}

function fromBytes(raw: Uint8Array, path: string): KeyWrappingKey {
  if (raw.byteLength !== KEK_BYTES) throw new Error(`${path}: a key-wrapping key is ${KEK_BYTES} bytes`);
  return {
    id: toHex(sha256(utf8('fleetgate-kek-id\n'), raw)).slice(0, 16),
    key: createSecretKey(raw),
  };
}

/** The KEK of a data directory, or undefined when none was created yet. Refuses a group/world-readable file. */
export function loadKek(dataDir: string): KeyWrappingKey | undefined {
  const path = kekPath(dataDir);
  if (!existsSync(path)) return undefined;
  const fd = openSync(path, 'r');
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0)
      throw new Error(`${path}: must not be readable by group or others`);
    return fromBytes(new Uint8Array(readFileSync(fd)), path);
  } finally {
    closeSync(fd);
  }
}

/** The KEK of a data directory, created (0600, exclusively) when absent. */
export function loadOrCreateKek(dataDir: string): KeyWrappingKey {
  const existing = loadKek(dataDir);
  if (existing !== undefined) return existing;
  const path = kekPath(dataDir);
  mkdirSync(join(dataDir, 'pki', 'telemetry'), { recursive: true, mode: 0o700 });
  const raw = new Uint8Array(randomBytes(KEK_BYTES));
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadKek(dataDir) as KeyWrappingKey;
    throw error;
  }
  try {
    writeSync(fd, raw);
  } finally {
    closeSync(fd);
  }
  return fromBytes(raw, path);
}

function aad(binding: { vehicleId: string; keyId: string }): Uint8Array {
  return utf8(`${AAD_LABEL}${binding.vehicleId}\n${binding.keyId}`);
}

/** AES-256-GCM wrap of `secret`, bound to its vehicle and key id. */
export function wrapSecret(
  kek: KeyWrappingKey,
  secret: Uint8Array,
  binding: { vehicleId: string; keyId: string },
): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(binding));
  const body = concatBytes(cipher.update(secret), cipher.final());
  return concatBytes(nonce, body, cipher.getAuthTag());
}

/** Unwraps a secret made by wrapSecret for the same binding; throws when it was altered or moved. */
export function unwrapSecret(
  kek: KeyWrappingKey,
  wrapped: Uint8Array,
  binding: { vehicleId: string; keyId: string },
): Uint8Array {
  if (wrapped.byteLength < NONCE_BYTES + TAG_BYTES + 1) throw new Error('wrapped secret is too short');
  const nonce = wrapped.subarray(0, NONCE_BYTES);
  const tag = wrapped.subarray(wrapped.byteLength - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', kek.key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(binding));
  decipher.setAuthTag(tag);
  return concatBytes(
    decipher.update(wrapped.subarray(NONCE_BYTES, wrapped.byteLength - TAG_BYTES)),
    decipher.final(),
  );
}
