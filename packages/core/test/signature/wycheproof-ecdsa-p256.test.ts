/**
 * Wycheproof ECDSA P-256 / SHA-256 (C2SP/wycheproof testvectors_v1) against our verifiers:
 *  - ecdsa_secp256r1_sha256_p1363_test.json → ecdsaP256Verify (the 64-byte wire form);
 *  - ecdsa_secp256r1_sha256_test.json (ASN.1 DER) → ecdsaP256VerifyDer (strict DER).
 *
 * Expectations: "invalid" → false (never a throw); "valid" → true, EXCEPT the deviations listed below.
 * "acceptable" — these files hold none (asserted), so no case is weakened.
 *
 * Deviations (our policy is stricter than Wycheproof, ecdsa-p256.ts / docs/signatures.md):
 *  HIGH_S — a "valid" signature whose s > n/2. ECDSA is malleable: (r, n − s) verifies whenever (r, s)
 *  does, so a relay could change a signature's bytes without the key. We sign low-S only and refuse
 *  high-S. For each such case we assert the refusal AND that its low-S twin (r, n − s) verifies, which
 *  shows the refusal is the policy and not an arithmetic error. The tcIds are listed exactly: a case
 *  that deviates without being listed (or a listed one that stops deviating) fails the suite.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/bytes.ts';
import { ecdsaP256Verify, ecdsaP256VerifyDer, P256_ORDER } from '../../src/signature/ecdsa-p256.ts';
import { readJson, requireCases, vectorsFolder } from '../helpers/vectors.ts';

interface EcdsaCase {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface EcdsaGroup {
  type: string;
  publicKeyDer: string;
  sha: string;
  tests: EcdsaCase[];
}
interface EcdsaFile {
  algorithm: string;
  testGroups: EcdsaGroup[];
}

/** Valid-by-Wycheproof, refused by us: s > n/2 (HIGH_S). P1363 file. */
const HIGH_S_P1363 = [
  64, 66, 67, 68, 71, 77, 78, 80, 81, 85, 86, 87, 94, 95, 96, 100, 102, 104, 105, 107, 110, 111, 114, 115,
  117, 118, 138, 139, 140, 141, 142, 171, 172, 175, 176, 177, 180, 183, 189, 190, 191, 192, 195, 196, 197,
  199, 200, 204, 210, 211, 216, 217, 226, 227, 229, 233, 234, 237, 240, 242, 243, 244, 246, 248, 249, 250,
  252, 253, 257, 262,
];
/** Valid-by-Wycheproof, refused by us: s > n/2 (HIGH_S). DER file. */
const HIGH_S_DER = [
  2, 3, 7, 299, 301, 302, 303, 306, 312, 313, 315, 316, 320, 321, 322, 329, 330, 331, 335, 337, 339, 340, 342,
  345, 346, 349, 350, 352, 353, 365, 366, 367, 368, 369, 394, 395, 398, 399, 400, 403, 406, 412, 413, 414,
  415, 418, 419, 420, 422, 423, 427, 433, 434, 439, 440, 448, 452, 453, 456, 459, 461, 462, 463, 465, 467,
  468, 469, 471, 475, 479, 484,
];

const HALF_ORDER = P256_ORDER >> 1n;
const hexOf = (n: bigint, bytes: number): string => n.toString(16).padStart(bytes * 2, '0');

/** r, s of a well-formed P1363 signature. */
function p1363Scalars(sig: Uint8Array): { r: bigint; s: bigint } {
  const hex = Buffer.from(sig).toString('hex');
  return { r: BigInt(`0x${hex.slice(0, 64)}`), s: BigInt(`0x${hex.slice(64)}`) };
}

/** r, s of a well-formed (valid-case) DER signature; only ever called on Wycheproof "valid" cases. */
function derScalars(sig: Uint8Array): { r: bigint; s: bigint } {
  const int = (at: number): { v: bigint; next: number } => {
    const len = sig[at + 1] as number;
    return {
      v: BigInt(`0x${Buffer.from(sig.subarray(at + 2, at + 2 + len)).toString('hex')}`),
      next: at + 2 + len,
    };
  };
  const r = int(2);
  return { r: r.v, s: int(r.next).v };
}

/** Minimal DER INTEGER content for a positive value. */
function derInteger(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  const body = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

function derSignature(r: bigint, s: bigint): Uint8Array {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}

function loadCases(
  dir: string,
  name: string,
): { file: EcdsaFile; cases: { key: KeyObject; t: EcdsaCase }[] } {
  const file = readJson(path.join(dir, name)) as EcdsaFile;
  const cases = file.testGroups.flatMap((g) => {
    if (g.sha !== 'SHA-256') throw new Error(`${name}: unexpected hash ${g.sha}`);
    const key = createPublicKey({ key: Buffer.from(g.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
    return g.tests.map((t) => ({ key, t }));
  });
  return { file, cases: [...requireCases(cases, name)] };
}

const dir = vectorsFolder('wycheproof');

if (dir === undefined) {
  describe.skip('Wycheproof ECDSA P-256 (vectors folder absent, see console warning)', () => {
    it('needs ../shared/vectors/wycheproof', () => {});
  });
} else {
  const suites = [
    {
      name: 'ecdsa_secp256r1_sha256_p1363_test.json',
      groupType: 'EcdsaP1363Verify',
      highS: HIGH_S_P1363,
      verify: ecdsaP256Verify,
      scalars: p1363Scalars,
      twin: (r: bigint, s: bigint) => fromHex(hexOf(r, 32) + hexOf(P256_ORDER - s, 32)),
    },
    {
      name: 'ecdsa_secp256r1_sha256_test.json',
      groupType: 'EcdsaVerify',
      highS: HIGH_S_DER,
      verify: ecdsaP256VerifyDer,
      scalars: derScalars,
      twin: (r: bigint, s: bigint) => derSignature(r, P256_ORDER - s),
    },
  ];

  for (const suite of suites) {
    const { file, cases } = loadCases(dir, suite.name);
    const count = (r: string): number => cases.filter((c) => c.t.result === r).length;
    const listed = new Set(suite.highS);

    describe(`Wycheproof ${suite.name} (${cases.length} cases: ${count('valid')} valid, ${count('invalid')} invalid, ${count('acceptable')} acceptable; ${listed.size} HIGH_S deviations)`, () => {
      it('is the ECDSA file, with the expected group type and no "acceptable" cases', () => {
        expect(file.algorithm).toBe('ECDSA');
        expect(new Set(file.testGroups.map((g) => g.type))).toEqual(new Set([suite.groupType]));
        expect(count('acceptable')).toBe(0);
      });

      it('the HIGH_S deviation list is exactly the valid cases with s > n/2', () => {
        const highS = cases
          .filter((c) => c.t.result === 'valid' && suite.scalars(fromHex(c.t.sig)).s > HALF_ORDER)
          .map((c) => c.t.tcId);
        expect(highS).toEqual(suite.highS);
      });

      for (const { key, t } of cases) {
        const msg = fromHex(t.msg);
        const sig = fromHex(t.sig);
        if (listed.has(t.tcId)) {
          it(`tcId ${t.tcId} valid→refused (HIGH_S: s > n/2; its low-S twin verifies) ${t.comment}`, () => {
            expect(suite.verify(key, msg, sig)).toBe(false);
            const { r, s } = suite.scalars(sig);
            expect(suite.verify(key, msg, suite.twin(r, s))).toBe(true);
          });
        } else {
          it(`tcId ${t.tcId} ${t.result} [${t.flags.join(',')}] ${t.comment}`, () => {
            expect(suite.verify(key, msg, sig)).toBe(t.result === 'valid');
          });
        }
      }
    });
  }
}
