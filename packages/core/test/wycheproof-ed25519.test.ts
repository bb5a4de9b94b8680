/**
 * Wycheproof EdDSA (Ed25519) verification vectors (C2SP/wycheproof testvectors_v1/ed25519_test.json)
 * against ed25519Verify, which the signed-note verifier relies on.
 *
 * Expectations: "valid" must verify; "invalid" (malleable S, non-canonical R, truncated or padded
 * signatures, small-order edge cases, …) must be rejected, and rejected by returning false, never by
 * throwing. "acceptable" results are implementation-dependent by definition: for those we assert only
 * that the verifier answers a boolean without throwing. This file currently holds none (the counts are
 * printed in the test names), so no case is weakened.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../src/bytes.ts';
import { ed25519PublicKeyFromRaw, ed25519Verify } from '../src/signature/ed25519.ts';
import { readJson, requireCases, vectorsFolder } from './helpers/vectors.ts';

interface WycheproofCase {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

interface WycheproofGroup {
  type: string;
  publicKey: { pk: string };
  tests: WycheproofCase[];
}

const dir = vectorsFolder('wycheproof');

if (dir === undefined) {
  describe.skip('Wycheproof Ed25519 (vectors folder absent, see console warning)', () => {
    it('needs ../shared/vectors/wycheproof', () => {});
  });
} else {
  const file = readJson(path.join(dir, 'ed25519_test.json')) as {
    algorithm: string;
    testGroups: WycheproofGroup[];
  };
  const groups = file.testGroups.filter((g) => g.type === 'EddsaVerify');
  const cases = requireCases(
    groups.flatMap((g) => g.tests.map((t) => ({ pk: g.publicKey.pk, t }))),
    'Wycheproof Ed25519',
  );
  const count = (r: string): number => cases.filter((c) => c.t.result === r).length;

  describe(`Wycheproof ed25519_test.json (${cases.length} cases: ${count('valid')} valid, ${count('invalid')} invalid, ${count('acceptable')} acceptable)`, () => {
    it('is the EdDSA file', () => {
      expect(file.algorithm).toBe('EDDSA');
    });
    for (const { pk, t } of cases) {
      it(`tcId ${t.tcId} ${t.result} [${t.flags.join(',')}] ${t.comment}`, () => {
        const key = ed25519PublicKeyFromRaw(fromHex(pk));
        const got = ed25519Verify(key, fromHex(t.msg), fromHex(t.sig));
        if (t.result === 'acceptable') expect(typeof got).toBe('boolean');
        else expect(got).toBe(t.result === 'valid');
      });
    }
  });
}
