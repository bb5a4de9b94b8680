/**
 * The PKCS#11 key provider against a real SoftHSM2 token (scripts/ci/softhsm.sh): keys generated inside
 * the token are sensitive and non-extractable (asked of the token itself through pkcs11js), CKM_ECDSA
 * signatures verify with the real `openssl dgst`, a whole CA hierarchy created by bootstrapPki with the
 * pkcs11 provider passes `openssl verify`, and a wrong PIN or a key document pointing elsewhere fails
 * closed. Skips visibly when SoftHSM2 or the native module is absent.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKeysConfig, type KeysConfig } from '../../src/config/config.ts';
import { bootstrapPki } from '../../src/pki/bootstrap.ts';
import { loadIssuingCa } from '../../src/pki/ca.ts';
import { PkiError } from '../../src/pki/errors.ts';
import { issueDeviceCertificate } from '../../src/pki/issue.ts';
import { readKeyDocument } from '../../src/pki/keys/document.ts';
import { createPkcs11CaKey, openPkcs11CaKey } from '../../src/pki/keys/pkcs11-provider.ts';
import { type CaSigner, derSignature, isCaSigner } from '../../src/pki/keys/signer.ts';
import { beginRollover } from '../../src/pki/rollover/begin.ts';
import { caStatus } from '../../src/pki/rollover/status.ts';
import { makeTempDir, openssl } from '../pki/helpers.ts';
import { provisionSoftHsm, type SoftHsm } from './softhsm.ts';

const hsm = provisionSoftHsm();
if ('skip' in hsm) console.warn(`[skip] PKCS#11 provider tests: ${hsm.skip}`);

async function codeOf(promise: Promise<unknown>, secret?: string): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof PkiError)) throw new Error(`expected a PkiError, got ${String(error)}`);
  if (secret !== undefined) expect(error.message).not.toContain(secret);
  return error.code;
}

describe.skipIf('skip' in hsm)('PKCS#11 key provider (SoftHSM2)', () => {
  const token = hsm as SoftHsm;
  const tmp = makeTempDir();
  const options = () => ({ module: token.module, tokenLabel: token.tokenLabel, pin: { env: token.pinEnv } });
  const context = () => ({ dataDir: tmp.dir, env: token.env });
  let signer: CaSigner;

  beforeAll(async () => {
    signer = await createPkcs11CaKey(join(tmp.dir, 'key.json'), options(), 'fleetgate-test-ca', context());
  });
  afterAll(async () => {
    await signer?.close();
    tmp.cleanup();
    token.cleanup();
  });

  it('generates the key in the token: the key document holds no key material', async () => {
    const loaded = await readKeyDocument(join(tmp.dir, 'key.json'));
    expect(loaded?.document).toMatchObject({
      provider: 'pkcs11',
      module: token.module,
      tokenLabel: token.tokenLabel,
      keyLabel: 'fleetgate-test-ca',
      pin: { env: 'FLEETGATE_PKCS11_PIN' },
    });
    const text = readFileSync(join(tmp.dir, 'key.json'), 'utf8');
    expect(text).not.toContain('ciphertext');
    expect(text).not.toContain(token.pin);
    expect(signer.custody).toBe('pkcs11');
    expect(signer.description).toContain('never extractable');
  });

  it('the token itself refuses to reveal the private value (CKA_SENSITIVE, not CKA_EXTRACTABLE)', () => {
    // Asked by a separate process with its own PKCS#11 session: an outside look at the token.
    const inspect = `
      const p11 = require('pkcs11js');
      const lib = new p11.PKCS11();
      lib.load(process.env.MODULE);
      lib.C_Initialize();
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === process.env.LABEL);
      const session = lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION);
      lib.C_Login(session, p11.CKU_USER, process.env.PIN);
      lib.C_FindObjectsInit(session, [{ type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY }]);
      const keys = lib.C_FindObjects(session, 10);
      lib.C_FindObjectsFinal(session);
      const out = keys.map((key) => {
        const [s, e, n] = lib.C_GetAttributeValue(session, key, [
          { type: p11.CKA_SENSITIVE }, { type: p11.CKA_EXTRACTABLE }, { type: p11.CKA_NEVER_EXTRACTABLE }]);
        let value = 'readable';
        try { lib.C_GetAttributeValue(session, key, [{ type: p11.CKA_VALUE }]); } catch (e) { value = e.message; }
        return { sensitive: s.value[0], extractable: e.value[0], neverExtractable: n.value[0], value };
      });
      lib.C_Logout(session); lib.C_CloseSession(session); lib.C_Finalize();
      console.log(JSON.stringify(out));`;
    const result = spawnSync(process.execPath, ['-e', inspect], {
      cwd: join(import.meta.dirname, '../../../..'),
      encoding: 'utf8',
      env: { ...process.env, MODULE: token.module, LABEL: token.tokenLabel, PIN: token.pin },
    });
    expect(result.status, result.stderr).toBe(0);
    const keys = JSON.parse(result.stdout) as {
      sensitive: number;
      extractable: number;
      neverExtractable: number;
      value: string;
    }[];
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) {
      expect(key).toEqual({
        sensitive: 1,
        extractable: 0,
        neverExtractable: 1,
        value: 'CKR_ATTRIBUTE_SENSITIVE',
      });
    }
  });

  it('CKM_ECDSA signs r || s over SHA-256, which openssl dgst verifies as DER', async () => {
    const data = Buffer.from('to be signed by the token');
    const p1363 = await signer.sign(data);
    expect(p1363).toHaveLength(64);
    writeFileSync(join(tmp.dir, 'data.bin'), data);
    writeFileSync(join(tmp.dir, 'sig.der'), derSignature(p1363));
    writeFileSync(join(tmp.dir, 'pub.pem'), signer.publicKey.export({ format: 'pem', type: 'spki' }));
    const result = openssl([
      'dgst',
      '-sha256',
      '-verify',
      join(tmp.dir, 'pub.pem'),
      '-signature',
      join(tmp.dir, 'sig.der'),
      join(tmp.dir, 'data.bin'),
    ]);
    expect(result.stdout.trim()).toBe('Verified OK');
  });

  it('a wrong PIN fails closed with PKI_KEY_UNAVAILABLE and never echoes the PIN', async () => {
    const loaded = await readKeyDocument(join(tmp.dir, 'key.json'));
    if (loaded?.document.provider !== 'pkcs11') throw new Error('no pkcs11 document');
    // A fresh login is needed for the PIN to be checked: close the shared session first.
    await signer.close();
    const wrongPin = `${token.pin}0`;
    const wrong = { dataDir: tmp.dir, env: { FLEETGATE_PKCS11_PIN: wrongPin } };
    expect(await codeOf(openPkcs11CaKey(loaded.document, wrong), wrongPin)).toBe('PKI_KEY_UNAVAILABLE');
    // A document naming another object (a key id the token does not have) is refused too.
    const elsewhere = { ...loaded.document, keyId: '00'.repeat(16) };
    expect(await codeOf(openPkcs11CaKey(elsewhere, context()))).toBe('PKI_KEY_UNAVAILABLE');
    // The right PIN opens it again, and the reopened key still signs.
    signer = await openPkcs11CaKey(loaded.document, context());
    expect(await signer.sign(new Uint8Array(1))).toHaveLength(64);
  });

  it('bootstrapPki with the pkcs11 provider: a hierarchy whose CA keys live in the token', async () => {
    const data = makeTempDir();
    try {
      const keys: KeysConfig = {
        ...defaultKeysConfig(),
        provider: 'pkcs11',
        pkcs11: { module: token.module, tokenLabel: token.tokenLabel, pinEnv: token.pinEnv, pinFile: null },
      };
      const manifest = await bootstrapPki(data.dir, {
        vehicles: ['TRK-9'],
        partners: [],
        keys,
        env: token.env,
      });
      for (const ca of [manifest.root, manifest.intermediate]) {
        expect((await readKeyDocument(ca.key))?.document.provider).toBe('pkcs11');
      }
      const device = manifest.vehicles['TRK-9'];
      expect(openssl(['verify', '-CAfile', manifest.caBundle, device?.chain ?? '']).status).toBe(0);
      // Online issuance through loadIssuingCa signs in the token (the PIN comes from the environment).
      process.env.FLEETGATE_PKCS11_PIN = token.pin;
      try {
        const issuing = await loadIssuingCa(data.dir);
        expect(isCaSigner(issuing.privateKey) && issuing.privateKey.custody).toBe('pkcs11');
        const { generateKeyPairSync } = await import('node:crypto');
        const issued = await issueDeviceCertificate(issuing, {
          vehicleId: 'TRK-10',
          publicKey: generateKeyPairSync('ed25519').publicKey,
        });
        writeFileSync(join(data.dir, 'trk10.pem'), issued.chainPem);
        expect(openssl(['verify', '-CAfile', manifest.caBundle, join(data.dir, 'trk10.pem')]).status).toBe(0);
      } finally {
        delete process.env.FLEETGATE_PKCS11_PIN;
      }
    } finally {
      data.cleanup();
    }
  });

  it('moves a CA into the token by rolling over: the new root and intermediate are born in the HSM', async () => {
    const data = makeTempDir();
    try {
      await bootstrapPki(data.dir, { vehicles: ['TRK-1'], partners: [], env: {} }); // encrypted-file keys
      const keys: KeysConfig = {
        ...defaultKeysConfig(),
        provider: 'pkcs11',
        pkcs11: { module: token.module, tokenLabel: token.tokenLabel, pinEnv: token.pinEnv, pinFile: null },
      };
      const result = await beginRollover(data.dir, { keys, env: token.env });
      expect(result.generation).toBe(2);
      const status = await caStatus(data.dir);
      expect(status.anchors.map((a) => a.key.custody)).toEqual(['pkcs11', 'file']);
      expect(status.intermediates.map((i) => [i.generation, i.key.custody])).toEqual([
        ['current', 'pkcs11'],
        ['previous', 'file'],
      ]);
      const bundle = join(data.dir, 'pki', 'ca.pem');
      expect(
        openssl(['verify', '-CAfile', bundle, join(data.dir, 'pki', 'devices', 'TRK-1', 'chain.pem')]).status,
      ).toBe(0);
      const grown = await bootstrapPki(data.dir, {
        vehicles: ['TRK-1', 'TRK-2'],
        partners: [],
        keys,
        env: token.env,
      });
      expect(grown.written).toHaveLength(3); // signed in the token
      expect(
        openssl(['verify', '-CAfile', bundle, join(data.dir, 'pki', 'devices', 'TRK-2', 'chain.pem')]).status,
      ).toBe(0);
    } finally {
      data.cleanup();
    }
  });
});
