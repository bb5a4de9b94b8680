/**
 * The audit log's checkpoint signing key: Ed25519 in DIR/pki/audit/key.pem (0600), its public half in
 * DIR/pki/audit/key.pub.pem and the C2SP verifier key (vkey) in DIR/pki/audit/vkey.txt, which is what an
 * auditor is given to verify checkpoints offline. (ML-DSA-65 cosignature and PKCS#11 custody come in
 * issues #7 and #3.)
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeVerifierKey } from '@fleetgate/core/note/verifier-key';

export interface AuditKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  vkey: string;
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

export function ensureAuditKeys(dataDir: string, origin: string): AuditKeys {
  const dir = auditKeyDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, 'key.pem');
  if (!existsSync(keyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeAtomic(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
    writeAtomic(join(dir, 'key.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }) as string, 0o644);
    writeAtomic(join(dir, 'vkey.txt'), `${encodeVerifierKey(origin, publicKey)}\n`, 0o644);
  }
  return loadAuditKeys(dataDir, origin);
}

export function loadAuditKeys(dataDir: string, origin: string): AuditKeys {
  const privateKey = createPrivateKey(readFileSync(join(auditKeyDir(dataDir), 'key.pem')));
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, vkey: encodeVerifierKey(origin, publicKey) };
}

/** For verification only: the public key, without needing the private key file. */
export function loadAuditPublicKey(dataDir: string): KeyObject {
  return createPublicKey(readFileSync(join(auditKeyDir(dataDir), 'key.pub.pem')));
}
