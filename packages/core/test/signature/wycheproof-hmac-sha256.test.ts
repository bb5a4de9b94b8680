/**
 * Wycheproof HMAC-SHA256 (C2SP/wycheproof testvectors_v1/hmac_sha256_test.json) against hmac-sha256.ts.
 *
 * The file has six groups: key sizes 128, 256 and 520 bits, each with full 256-bit tags and with tags
 * truncated to 128 bits. Expectations:
 *  - 256-bit and 520-bit keys, full tags: "valid" → true, "invalid" (ModifiedTag) → false.
 *  - Deviation TRUNCATED_TAG — every case of the 128-bit-tag groups, "valid" ones included: we accept the
 *    full 32-byte tag only (a truncated tag is refused, never compared as a prefix), so verify answers
 *    false. For "valid" ones we also assert that the vector's tag IS the prefix of the tag we compute,
 *    so the refusal is the policy, not a wrong MAC.
 *  - Deviation SHORT_KEY — every case with a 128-bit key: keys under 32 bytes are refused at import with
 *    CORE_INVALID_KEY (HMAC_SHA256_MIN_KEY_LENGTH), so those tags cannot even be checked.
 * The group counts are asserted, so an upstream change to the file's shape fails here first.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/bytes.ts';
import {
  HMAC_SHA256_MIN_KEY_LENGTH,
  HMAC_SHA256_TAG_LENGTH,
  hmacSha256KeyFromBytes,
  hmacSha256Sign,
  hmacSha256Verify,
} from '../../src/signature/hmac-sha256.ts';
import { coreErrorCode, readJson, requireCases, vectorsFolder } from '../helpers/vectors.ts';

interface MacCase {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  msg: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface MacGroup {
  type: string;
  keySize: number;
  tagSize: number;
  tests: MacCase[];
}

const dir = vectorsFolder('wycheproof');

if (dir === undefined) {
  describe.skip('Wycheproof HMAC-SHA256 (vectors folder absent, see console warning)', () => {
    it('needs ../shared/vectors/wycheproof', () => {});
  });
} else {
  const file = readJson(path.join(dir, 'hmac_sha256_test.json')) as {
    algorithm: string;
    testGroups: MacGroup[];
  };
  const cases = requireCases(
    file.testGroups.flatMap((g) => g.tests.map((t) => ({ keySize: g.keySize, tagSize: g.tagSize, t }))),
    'Wycheproof HMAC-SHA256',
  );
  const shortKey = (keySize: number): boolean => keySize / 8 < HMAC_SHA256_MIN_KEY_LENGTH;
  const truncated = (tagSize: number): boolean => tagSize / 8 !== HMAC_SHA256_TAG_LENGTH;
  const count = (pred: (c: (typeof cases)[number]) => boolean): number => cases.filter(pred).length;

  describe(`Wycheproof hmac_sha256_test.json (${cases.length} cases; deviations: ${count((c) => shortKey(c.keySize))} SHORT_KEY, ${count((c) => !shortKey(c.keySize) && truncated(c.tagSize))} TRUNCATED_TAG)`, () => {
    it('is the HMAC-SHA256 file with the six key-size × tag-size groups', () => {
      expect(file.algorithm).toBe('HMACSHA256');
      expect(file.testGroups.map((g) => `${g.keySize}/${g.tagSize}`).sort()).toEqual(
        ['128/128', '128/256', '256/128', '256/256', '520/128', '520/256'].sort(),
      );
      expect(count((c) => c.t.result === 'acceptable')).toBe(0);
      // The truncated-tag groups carry real "valid" cases: the deviation is exercised, not vacuous.
      expect(
        count((c) => !shortKey(c.keySize) && truncated(c.tagSize) && c.t.result === 'valid'),
      ).toBeGreaterThan(0);
    });

    for (const { keySize, tagSize, t } of cases) {
      const rawKey = fromHex(t.key);
      const msg = fromHex(t.msg);
      const tag = fromHex(t.tag);
      const label = `tcId ${t.tcId} key ${keySize} bits, tag ${tagSize} bits, ${t.result} [${t.flags.join(',')}] ${t.comment}`;

      if (shortKey(keySize)) {
        it(`${label} → refused (SHORT_KEY: key under ${HMAC_SHA256_MIN_KEY_LENGTH} bytes)`, () => {
          expect(coreErrorCode(() => hmacSha256KeyFromBytes(rawKey))).toBe('CORE_INVALID_KEY');
        });
      } else if (truncated(tagSize)) {
        it(`${label} → refused (TRUNCATED_TAG)`, () => {
          const key = hmacSha256KeyFromBytes(rawKey);
          expect(hmacSha256Verify(key, msg, tag)).toBe(false);
          const full = hmacSha256Sign(key, msg);
          // The vector's truncated tag is our tag's prefix exactly when Wycheproof calls it valid.
          expect(Buffer.from(full.subarray(0, tag.byteLength)).equals(tag)).toBe(t.result === 'valid');
        });
      } else {
        it(label, () => {
          const key = hmacSha256KeyFromBytes(rawKey);
          expect(hmacSha256Verify(key, msg, tag)).toBe(t.result === 'valid');
          if (t.result === 'valid') expect(hmacSha256Sign(key, msg)).toEqual(tag);
        });
      }
    }
  });
}
