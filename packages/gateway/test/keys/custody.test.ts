/**
 * Key custody through bootstrapPki and loadIssuingCa (docs/pki.md "Key custody"): new CA keys are
 * encrypted key documents by default, the passphrase comes from the environment or a generated 0600
 * file, a run that signs nothing opens no key, legacy plaintext CA keys keep loading and are migrated by
 * the next init, and a CRL signed through the delegating WebCrypto (the path revocation uses) verifies
 * with the real `openssl crl`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapPki } from '../../src/pki/bootstrap.ts';
import { createIntermediateCa, createSelfSignedCa, loadIssuingCa } from '../../src/pki/ca.ts';
import { PkiError } from '../../src/pki/errors.ts';
import { ECDSA_WITH_SHA256, ecdsaSigningKey, webCrypto, x509 } from '../../src/pki/internal/x509-lib.ts';
import { issueDeviceCertificate } from '../../src/pki/issue.ts';
import { readKeyDocument } from '../../src/pki/keys/document.ts';
import { isCaSigner } from '../../src/pki/keys/signer.ts';
import { makeTempDir, openssl } from '../pki/helpers.ts';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PkiError);
  expect((error as PkiError).code).toBe(code);
}

async function verifies(dataDir: string, chainPem: string): Promise<boolean> {
  const path = join(dataDir, `chain-${Math.random().toString(16).slice(2)}.pem`);
  writeFileSync(path, chainPem);
  return openssl(['verify', '-CAfile', join(dataDir, 'pki', 'ca.pem'), path]).status === 0;
}

describe('key custody in bootstrapPki and loadIssuingCa', () => {
  it('defaults to encrypted key documents with a generated 0600 passphrase file, opened only to sign', async () => {
    const tmp = makeTempDir();
    try {
      const manifest = await bootstrapPki(tmp.dir, { vehicles: ['TRK-1'], partners: [], env: {} });
      const secret = join(tmp.dir, 'secrets', 'ca-passphrase');
      expect([mode(secret), mode(join(tmp.dir, 'secrets'))]).toEqual(['600', '700']);
      for (const ca of [manifest.root, manifest.intermediate]) {
        const loaded = await readKeyDocument(ca.key);
        expect(loaded?.document).toMatchObject({
          provider: 'file',
          passphrase: { file: 'secrets/ca-passphrase' },
        });
        expect(existsSync(join(ca.dir, 'key.pem'))).toBe(false);
      }
      // A run that issues nothing does not need the passphrase at all...
      renameSync(secret, `${secret}.away`);
      expect((await bootstrapPki(tmp.dir, { vehicles: ['TRK-1'], partners: [], env: {} })).written).toEqual(
        [],
      );
      // ...but one that must sign does, and fails closed without it.
      await expectCode(
        bootstrapPki(tmp.dir, { vehicles: ['TRK-1', 'TRK-3'], partners: [], env: {} }),
        'PKI_KEY_UNAVAILABLE',
      );
      expect(existsSync(join(manifest.dir, 'devices', 'TRK-3', 'key.pem'))).toBe(false); // no key written
      renameSync(`${secret}.away`, secret);
      const again = await bootstrapPki(tmp.dir, { vehicles: ['TRK-1', 'TRK-3'], partners: [], env: {} });
      expect(again.written).toHaveLength(3);
      // Online issuance (enrollment, rotation) opens the intermediate the same way.
      const ca = await loadIssuingCa(tmp.dir);
      expect(isCaSigner(ca.privateKey) && ca.privateKey.custody).toBe('file');
      const issued = await issueDeviceCertificate(ca, {
        vehicleId: 'TRK-2',
        publicKey: generateKeyPairSync('ed25519').publicKey,
      });
      expect(await verifies(tmp.dir, issued.chainPem)).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });

  it('takes the passphrase from FLEETGATE_CA_PASSPHRASE when it is set (and writes no secret file)', async () => {
    const tmp = makeTempDir();
    try {
      const env = { FLEETGATE_CA_PASSPHRASE: 'an operator passphrase from a vault' };
      const manifest = await bootstrapPki(tmp.dir, { vehicles: [], partners: [], env });
      expect((await readKeyDocument(manifest.intermediate.key))?.document).toMatchObject({
        passphrase: { env: 'FLEETGATE_CA_PASSPHRASE' },
      });
      expect(existsSync(join(tmp.dir, 'secrets'))).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });

  it('loads a legacy plaintext CA key.pem, then init migrates it to an encrypted key.json', async () => {
    const tmp = makeTempDir();
    try {
      // A data directory as `fleetgate init` wrote it before key custody: plaintext PKCS#8 CA keys.
      const root = await createSelfSignedCa({ commonName: 'fleetgate Root CA' });
      const intermediate = await createIntermediateCa(root);
      const pki = join(tmp.dir, 'pki');
      for (const [name, ca] of [
        ['root', root],
        ['intermediate', intermediate],
      ] as const) {
        mkdirSync(join(pki, name), { recursive: true, mode: 0o700 });
        writeFileSync(join(pki, name, 'cert.pem'), ca.certificate.toString());
        if (isCaSigner(ca.privateKey)) throw new Error('expected an in-memory key');
        writeFileSync(join(pki, name, 'key.pem'), ca.privateKey.export({ format: 'pem', type: 'pkcs8' }), {
          mode: 0o600,
        });
      }
      writeFileSync(join(pki, 'ca.pem'), root.certificate.toString() + intermediate.certificate.toString());
      const legacy = await loadIssuingCa(tmp.dir);
      expect(isCaSigner(legacy.privateKey)).toBe(false); // still loads, as before
      const before = await issueDeviceCertificate(legacy, {
        vehicleId: 'OLD-1',
        publicKey: generateKeyPairSync('ed25519').publicKey,
      });

      const manifest = await bootstrapPki(tmp.dir, { vehicles: [], partners: [], env: {} });
      for (const name of ['root', 'intermediate']) {
        expect(existsSync(join(pki, name, 'key.pem'))).toBe(false);
        expect(manifest.written).toContain(join(pki, name, 'key.json'));
      }
      const migrated = await loadIssuingCa(tmp.dir);
      expect(isCaSigner(migrated.privateKey) && migrated.privateKey.custody).toBe('file');
      expect(migrated.certificate.raw.equals(intermediate.certificate.raw)).toBe(true); // same CA, same key
      expect(await verifies(tmp.dir, before.chainPem)).toBe(true);
      const after = await issueDeviceCertificate(migrated, {
        vehicleId: 'NEW-1',
        publicKey: generateKeyPairSync('ed25519').publicKey,
      });
      expect(await verifies(tmp.dir, after.chainPem)).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });

  it('a CA folder with both key.json and key.pem is a conflict: which key signs is never a guess', async () => {
    const tmp = makeTempDir();
    try {
      const manifest = await bootstrapPki(tmp.dir, { vehicles: [], partners: [], env: {} });
      const stray = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      writeFileSync(
        join(manifest.intermediate.dir, 'key.pem'),
        stray.export({ format: 'pem', type: 'pkcs8' }),
        {
          mode: 0o600,
        },
      );
      await expectCode(loadIssuingCa(tmp.dir), 'PKI_STATE_CONFLICT');
    } finally {
      tmp.cleanup();
    }
  });

  it('signs a CRL through ecdsaSigningKey + webCrypto with a provider key; openssl verifies it', async () => {
    const tmp = makeTempDir();
    try {
      await bootstrapPki(tmp.dir, { vehicles: [], partners: [], env: {} });
      const ca = await loadIssuingCa(tmp.dir);
      expect(isCaSigner(ca.privateKey)).toBe(true);
      const issuer = new x509.X509Certificate(new Uint8Array(ca.certificate.raw));
      const crl = await x509.X509CrlGenerator.create(
        {
          issuer: issuer.subjectName,
          thisUpdate: new Date(),
          nextUpdate: new Date(Date.now() + 3_600_000),
          entries: [
            { serialNumber: '0a1b2c', revocationDate: new Date(), reason: x509.X509CrlReason.keyCompromise },
          ],
          signingKey: ecdsaSigningKey(ca.privateKey),
          signingAlgorithm: ECDSA_WITH_SHA256,
        },
        webCrypto,
      );
      const crlPath = join(tmp.dir, 'crl.der');
      writeFileSync(crlPath, Buffer.from(crl.rawData));
      const result = openssl([
        'crl',
        '-inform',
        'DER',
        '-in',
        crlPath,
        '-CAfile',
        join(tmp.dir, 'pki', 'ca.pem'),
        '-noout',
        '-text',
      ]);
      expect(result.stderr).toContain('verify OK');
      expect(result.stdout).toContain('0A1B2C');
      // Ordinary WebCrypto keys still sign through the same object (the delegation is by key identity).
      const plain = await webCrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
        'sign',
      ]);
      const signature = await webCrypto.subtle.sign(ECDSA_WITH_SHA256, plain.privateKey, new Uint8Array(8));
      expect(signature.byteLength).toBe(64);
      // A provider key signs ecdsa-with-SHA256 only.
      await expect(
        webCrypto.subtle.sign(
          { name: 'ECDSA', hash: 'SHA-384' },
          ecdsaSigningKey(ca.privateKey),
          new Uint8Array(8),
        ),
      ).rejects.toThrow(/ecdsa-with-SHA256/);
    } finally {
      tmp.cleanup();
    }
  });
});
