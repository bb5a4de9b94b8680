/**
 * The audit log's two checkpoint signing keys (ARCHITECTURE.md "Tamper-evident audit"; docs/audit.md
 * "Keys"): Ed25519 in DIR/pki/audit/key.pem and ML-DSA-65 (FIPS 204) in DIR/pki/audit/mldsa-key.pem,
 * both 0600 in a 0700 directory, their public halves in key.pub.pem / mldsa-key.pub.pem, and the C2SP
 * verifier keys (one per line, Ed25519 first) in DIR/pki/audit/vkey.txt — what an auditor or partner is
 * given to verify checkpoints offline.
 *
 * Threat: a quantum adversary forging Ed25519 checkpoints, or a classical break of ML-DSA. Every
 * checkpoint carries both signatures and verifiers require both, so forging one needs both broken.
 * A data directory from before the second key gets one on its next start (ensureAuditKeys); loading
 * without it fails closed rather than signing with one algorithm. (PKCS#11 custody: issue #3.)
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeVerifierKey } from '@fleetgate/core/note/verifier-key';

export interface AuditKeys {
  /** Ed25519 signing key. */
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** ML-DSA-65 signing key. */
  mlDsaPrivateKey: KeyObject;
  mlDsaPublicKey: KeyObject;
  /** The Ed25519 verifier key (`<origin>+<keyid>+<base64>`). */
  vkey: string;
  /** The ML-DSA-65 verifier key. */
  mlDsaVkey: string;
}

/** The public halves only: what verifiers need. */
export interface AuditVerifierKeys {
  publicKey: KeyObject;
  mlDsaPublicKey: KeyObject;
}

export function auditKeyDir(dataDir: string): string {
  return join(dataDir, 'pki', 'audit');
}

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function generate(dir: string, base: string, type: 'ed25519' | 'ml-dsa-65'): void {
  const { privateKey, publicKey } =
    type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ml-dsa-65');
  writeAtomic(join(dir, `${base}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  writeAtomic(
    join(dir, `${base}.pub.pem`),
    publicKey.export({ format: 'pem', type: 'spki' }) as string,
    0o644,
  );
}

/** Creates whichever of the two keys is missing (and vkey.txt), then loads both. */
export function ensureAuditKeys(dataDir: string, origin: string): AuditKeys {
  const dir = auditKeyDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(join(dir, 'key.pem'))) generate(dir, 'key', 'ed25519');
  if (!existsSync(join(dir, 'mldsa-key.pem'))) generate(dir, 'mldsa-key', 'ml-dsa-65');
  const keys = loadAuditKeys(dataDir, origin);
  const vkeys = `${keys.vkey}\n${keys.mlDsaVkey}\n`;
  const vkeyPath = join(dir, 'vkey.txt');
  if (!existsSync(vkeyPath) || readFileSync(vkeyPath, 'utf8') !== vkeys) writeAtomic(vkeyPath, vkeys, 0o644);
  return keys;
}

export function loadAuditKeys(dataDir: string, origin: string): AuditKeys {
  const dir = auditKeyDir(dataDir);
  const privateKey = createPrivateKey(readFileSync(join(dir, 'key.pem')));
  const mlDsaPrivateKey = createPrivateKey(readFileSync(join(dir, 'mldsa-key.pem')));
  if (privateKey.asymmetricKeyType !== 'ed25519' || mlDsaPrivateKey.asymmetricKeyType !== 'ml-dsa-65') {
    throw new TypeError('audit keys are not Ed25519 and ML-DSA-65');
  }
  const publicKey = createPublicKey(privateKey);
  const mlDsaPublicKey = createPublicKey(mlDsaPrivateKey);
  return {
    privateKey,
    publicKey,
    mlDsaPrivateKey,
    mlDsaPublicKey,
    vkey: encodeVerifierKey(origin, publicKey),
    mlDsaVkey: encodeVerifierKey(origin, mlDsaPublicKey),
  };
}

/** The Ed25519 public key, without needing the private key file. */
export function loadAuditPublicKey(dataDir: string): KeyObject {
  return createPublicKey(readFileSync(join(auditKeyDir(dataDir), 'key.pub.pem')));
}

/** Both public keys, without the private key files: what `fleetgate audit verify` uses. */
export function loadAuditVerifierKeys(dataDir: string): AuditVerifierKeys {
  const dir = auditKeyDir(dataDir);
  return {
    publicKey: createPublicKey(readFileSync(join(dir, 'key.pub.pem'))),
    mlDsaPublicKey: createPublicKey(readFileSync(join(dir, 'mldsa-key.pub.pem'))),
  };
}
