/**
 * The two audit keys: created owner-only (0600 in a 0700 directory), both verifier keys in vkey.txt one per
 * line, an Ed25519-only data directory from before the second key upgraded on the next start with its first
 * key kept, and a missing ML-DSA-65 key refused at load (never a silent fall back to one signature).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseVerifierKey } from '@fleetgate/core/note/verifier-key';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureAuditKeys, loadAuditKeys, loadAuditVerifierKeys } from '../../src/audit/keys.ts';

const ORIGIN = 'test.fleetgate/audit';

describe('audit keys', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates both keys owner-only and publishes both verifier keys', () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-audit-keys-'));
    const keys = ensureAuditKeys(dir, ORIGIN);
    const audit = join(dir, 'pki', 'audit');
    expect(statSync(audit).mode & 0o777).toBe(0o700);
    for (const f of ['key.pem', 'mldsa-key.pem']) expect(statSync(join(audit, f)).mode & 0o777).toBe(0o600);
    expect(keys.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(keys.mlDsaPrivateKey.asymmetricKeyType).toBe('ml-dsa-65');
    const lines = readFileSync(join(audit, 'vkey.txt'), 'utf8').trim().split('\n');
    expect(lines).toEqual([keys.vkey, keys.mlDsaVkey]);
    expect(lines.map((l) => parseVerifierKey(l).alg)).toEqual(['ed25519', 'ml-dsa-65']);
    const pub = loadAuditVerifierKeys(dir);
    expect(pub.publicKey.equals(keys.publicKey)).toBe(true);
    expect(pub.mlDsaPublicKey.equals(keys.mlDsaPublicKey)).toBe(true);
    // Idempotent: a second call keeps both keys.
    expect(ensureAuditKeys(dir, ORIGIN).mlDsaVkey).toBe(keys.mlDsaVkey);
  });

  it('upgrades an Ed25519-only directory, keeping its key; refuses to load without the ML-DSA-65 key', () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-audit-keys-'));
    const audit = join(dir, 'pki', 'audit');
    mkdirSync(audit, { recursive: true, mode: 0o700 });
    const old = generateKeyPairSync('ed25519');
    writeFileSync(join(audit, 'key.pem'), old.privateKey.export({ format: 'pem', type: 'pkcs8' }), {
      mode: 0o600,
    });
    expect(() => loadAuditKeys(dir, ORIGIN)).toThrow();
    const keys = ensureAuditKeys(dir, ORIGIN);
    expect(keys.publicKey.equals(old.publicKey)).toBe(true);
    expect(readFileSync(join(audit, 'vkey.txt'), 'utf8').trim().split('\n')).toHaveLength(2);
    unlinkSync(join(audit, 'mldsa-key.pem'));
    expect(() => loadAuditKeys(dir, ORIGIN)).toThrow();
  });
});
