/**
 * Wycheproof ML-DSA-65 (C2SP/wycheproof testvectors_v1, FIPS 204) against ml-dsa-65.ts.
 *
 * mldsa_65_verify_test.json → mlDsa65PublicKeyFromRaw + mlDsa65Verify, context included: "valid" → true,
 * "invalid" → false (modified signatures, hint-encoding and norm violations, contexts over 255 bytes).
 * Cases whose public key has the wrong length (IncorrectPublicKeyLength) never reach verification: the
 * import refuses them with CORE_INVALID_KEY, which is asserted as their "invalid".
 *
 * mldsa_65_sign_seed_test.json — node:crypto CAN import a seed-form private key (mlDsa65PrivateKeyFromSeed,
 * the RFC 9881 seed-only PKCS#8), so this file checks:
 *  - key generation from the seed (FIPS 204 Algorithm 6) reproduces the vector's public key exactly, and
 *    the vector's own PKCS#8 imports to the same key;
 *  - the vector's signature verifies under that public key (with its context);
 *  - a signature we make with the seed-derived key over the same message and context verifies;
 *  - invalid cases: wrong seed lengths are refused at import, a 256-byte context is refused at signing.
 * What we could NOT test, and why:
 *  - byte-for-byte signature reproduction: node:crypto signs hedged (fresh rnd, FIPS 204 §3.4) and offers
 *    neither the deterministic variant nor a way to pass the vector's rnd;
 *  - the "Internal" cases that give only mu (external mu, ML-DSA.Sign_internal/Verify_internal):
 *    node:crypto has no external-mu API. They are listed as skipped tests below, by tcId.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/bytes.ts';
import {
  ML_DSA_65_SEED_LENGTH,
  mlDsa65PrivateKeyFromSeed,
  mlDsa65PublicKeyFromRaw,
  mlDsa65PublicKeyToRaw,
  mlDsa65Sign,
  mlDsa65Verify,
} from '../../src/signature/ml-dsa-65.ts';
import { coreErrorCode, readJson, requireCases, vectorsFolder } from '../helpers/vectors.ts';

interface MlDsaCase {
  tcId: number;
  comment: string;
  flags: string[];
  msg?: string;
  mu?: string;
  ctx?: string;
  rnd?: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface VerifyGroup {
  type: string;
  publicKey: string;
  publicKeyDer: string;
  tests: MlDsaCase[];
}
interface SignGroup {
  type: string;
  privateSeed: string;
  privateKeyPkcs8?: string;
  publicKey?: string | null;
  tests: MlDsaCase[];
}

const ctxOf = (t: MlDsaCase): Uint8Array => fromHex(t.ctx ?? '');
const flags = (t: MlDsaCase): string => t.flags.join(',');
const dir = vectorsFolder('wycheproof');

if (dir === undefined) {
  describe.skip('Wycheproof ML-DSA-65 (vectors folder absent, see console warning)', () => {
    it('needs ../shared/vectors/wycheproof', () => {});
  });
} else {
  const verifyFile = readJson(path.join(dir, 'mldsa_65_verify_test.json')) as {
    algorithm: string;
    testGroups: VerifyGroup[];
  };
  const verifyCases = requireCases(
    verifyFile.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t }))),
    'Wycheproof ML-DSA-65 verify',
  );

  describe(`Wycheproof mldsa_65_verify_test.json (${verifyCases.length} cases)`, () => {
    it('is the ML-DSA-65 verify file', () => {
      expect(verifyFile.algorithm).toBe('ML-DSA-65');
      expect(new Set(verifyFile.testGroups.map((g) => g.type))).toEqual(new Set(['MlDsaVerify']));
      expect(verifyCases.filter((c) => c.t.result === 'acceptable')).toHaveLength(0);
    });

    it('our raw-key import builds exactly the vector SPKI for every well-sized key', () => {
      const sized = verifyFile.testGroups.filter((g) => g.publicKey.length === 1952 * 2);
      expect(sized.length).toBeGreaterThan(0);
      for (const g of sized) {
        const der = mlDsa65PublicKeyFromRaw(fromHex(g.publicKey)).export({ format: 'der', type: 'spki' });
        expect(der.toString('hex')).toBe(g.publicKeyDer);
      }
    });

    for (const { g, t } of verifyCases) {
      const raw = fromHex(g.publicKey);
      if (raw.byteLength !== 1952) {
        it(`tcId ${t.tcId} ${t.result} [${flags(t)}] ${t.comment} → key refused at import`, () => {
          expect(t.result).toBe('invalid');
          expect(coreErrorCode(() => mlDsa65PublicKeyFromRaw(raw))).toBe('CORE_INVALID_KEY');
        });
        continue;
      }
      it(`tcId ${t.tcId} ${t.result} [${flags(t)}] ${t.comment}`, () => {
        const key = mlDsa65PublicKeyFromRaw(raw);
        const got = mlDsa65Verify(key, fromHex(t.msg ?? ''), fromHex(t.sig), ctxOf(t));
        expect(got).toBe(t.result === 'valid');
      });
    }
  });

  const signFile = readJson(path.join(dir, 'mldsa_65_sign_seed_test.json')) as {
    algorithm: string;
    testGroups: SignGroup[];
  };
  const signCases = requireCases(
    signFile.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t }))),
    'Wycheproof ML-DSA-65 sign (seed)',
  );
  const externalMu = signCases.filter((c) => c.t.msg === undefined);

  describe(`Wycheproof mldsa_65_sign_seed_test.json (${signCases.length} cases; ${externalMu.length} external-mu cases not testable through node:crypto)`, () => {
    it('is the ML-DSA-65 seeded signing file', () => {
      expect(signFile.algorithm).toBe('ML-DSA-65');
      expect(new Set(signFile.testGroups.map((g) => g.type))).toEqual(new Set(['MlDsaSign']));
      // Every external-mu case carries mu; everything else carries a message we can test.
      for (const { t } of externalMu) expect(t.mu).toBeDefined();
    });

    for (const { g, t } of signCases) {
      const seed = fromHex(g.privateSeed);
      const label = `tcId ${t.tcId} ${t.result} [${flags(t)}] ${t.comment}`;

      if (seed.byteLength !== ML_DSA_65_SEED_LENGTH) {
        it(`${label} → seed of ${seed.byteLength} bytes refused at import`, () => {
          expect(t.result).toBe('invalid');
          expect(coreErrorCode(() => mlDsa65PrivateKeyFromSeed(seed))).toBe('CORE_INVALID_KEY');
        });
        continue;
      }
      if (t.msg === undefined) {
        it.skip(`${label} — external mu only: node:crypto has no ML-DSA Sign_internal/Verify_internal`, () => {});
        continue;
      }
      const msg = fromHex(t.msg);
      const ctx = ctxOf(t);

      if (t.result === 'invalid') {
        it(`${label} → refused`, () => {
          expect(t.flags).toContain('InvalidContext');
          expect(ctx.byteLength).toBeGreaterThan(255);
          expect(coreErrorCode(() => mlDsa65Sign(mlDsa65PrivateKeyFromSeed(seed), msg, ctx))).toBe(
            'CORE_INVALID_ARGUMENT',
          );
        });
        continue;
      }
      it(label, () => {
        const privateKey = mlDsa65PrivateKeyFromSeed(seed);
        const publicKey = createPublicKey(privateKey);
        // Key generation known answer: seed → public key, and the vector's PKCS#8 agrees.
        expect(Buffer.from(mlDsa65PublicKeyToRaw(publicKey)).toString('hex')).toBe(g.publicKey);
        if (g.privateKeyPkcs8 !== undefined && g.privateKeyPkcs8 !== '') {
          const fromPkcs8 = createPrivateKey({
            key: Buffer.from(g.privateKeyPkcs8, 'hex'),
            format: 'der',
            type: 'pkcs8',
          });
          expect(Buffer.from(mlDsa65PublicKeyToRaw(createPublicKey(fromPkcs8))).toString('hex')).toBe(
            g.publicKey,
          );
        }
        const vectorKey = mlDsa65PublicKeyFromRaw(fromHex(g.publicKey ?? ''));
        expect(mlDsa65Verify(vectorKey, msg, fromHex(t.sig), ctx)).toBe(true);
        const ours = mlDsa65Sign(privateKey, msg, ctx);
        expect(mlDsa65Verify(vectorKey, msg, ours, ctx)).toBe(true);
      });
    }
  });
}
