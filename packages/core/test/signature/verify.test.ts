/**
 * verifySignature / signMessage (verify.ts, sign.ts) over the closed SignatureAlgorithm union: a round
 * trip per algorithm over a real signing input, the advertised lengths, cross-algorithm and wrong-key
 * confusion answering false, and — the contract — verifySignature never throwing on attacker-controlled
 * input (fast-check over algorithm names, keys of every kind, and signature bytes). signMessage throws
 * coded errors on mismatches instead. Keys are generated at test time.
 */
import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/bytes.ts';
import {
  isSignatureAlgorithm,
  SIGNATURE_ALGORITHMS,
  SIGNATURE_LENGTHS,
  type SignatureAlgorithm,
} from '../../src/signature/algorithm.ts';
import { generateEcdsaP256KeyPair } from '../../src/signature/ecdsa-p256.ts';
import { generateEd25519KeyPair } from '../../src/signature/ed25519.ts';
import { generateHmacSha256Key } from '../../src/signature/hmac-sha256.ts';
import { generateHybridEd25519MlDsa65KeyPair } from '../../src/signature/hybrid-ed25519-mldsa65.ts';
import { type SigningKey, signMessage } from '../../src/signature/sign.ts';
import { signingInput } from '../../src/signature/signing-input.ts';
import { type VerificationKey, verifySignature } from '../../src/signature/verify.ts';
import { flipBit } from '../helpers/merkle.ts';
import { coreErrorCode } from '../helpers/vectors.ts';

const ed = generateEd25519KeyPair();
const ec = generateEcdsaP256KeyPair();
const mac = generateHmacSha256Key();
const hybrid = generateHybridEd25519MlDsa65KeyPair();

const keys: Record<SignatureAlgorithm, { sign: SigningKey; verify: VerificationKey }> = {
  ed25519: { sign: ed.privateKey, verify: ed.publicKey },
  'ecdsa-p256-sha256': { sign: ec.privateKey, verify: ec.publicKey },
  'hmac-sha256': { sign: mac, verify: mac },
  'ed25519+ml-dsa-65': { sign: hybrid.privateKey, verify: hybrid.publicKey },
};
const input = signingInput(
  'application/vnd.fleetgate.telemetry-batch.v1+protobuf',
  7n,
  utf8('payload bytes'),
);
const signatures = Object.fromEntries(
  SIGNATURE_ALGORITHMS.map((alg) => [alg, signMessage(alg, keys[alg].sign, input)]),
) as Record<SignatureAlgorithm, Uint8Array>;

describe('the SignatureAlgorithm union', () => {
  it('is exactly the four suites of issue 5', () => {
    expect([...SIGNATURE_ALGORITHMS]).toEqual([
      'ed25519',
      'ecdsa-p256-sha256',
      'hmac-sha256',
      'ed25519+ml-dsa-65',
    ]);
  });

  it('narrows only its own names', () => {
    for (const alg of SIGNATURE_ALGORITHMS) expect(isSignatureAlgorithm(alg)).toBe(true);
    for (const other of [
      'none',
      'ED25519',
      'ml-dsa-65',
      'ecdsa-p384-sha384',
      'hs256',
      '',
      ' ed25519',
      1,
      null,
      {},
    ]) {
      expect(isSignatureAlgorithm(other)).toBe(false);
    }
  });
});

describe.each(SIGNATURE_ALGORITHMS)('%s through signMessage / verifySignature', (alg) => {
  const sig = signatures[alg];

  it(`signs SIGNATURE_LENGTHS[alg] bytes that verify over exactly the signing input`, () => {
    expect(sig.byteLength).toBe(SIGNATURE_LENGTHS[alg]);
    expect(verifySignature(alg, keys[alg].verify, input, sig)).toBe(true);
    expect(verifySignature(alg, keys[alg].verify, flipBit(input, 3), sig)).toBe(false);
    expect(verifySignature(alg, keys[alg].verify, input, flipBit(sig, 5))).toBe(false);
  });

  it('refuses the keys of every other algorithm', () => {
    for (const other of SIGNATURE_ALGORITHMS) {
      if (other === alg) continue;
      expect(verifySignature(alg, keys[other].verify, input, sig)).toBe(false);
    }
  });

  it("refuses every other algorithm's signature under its own key", () => {
    for (const other of SIGNATURE_ALGORITHMS) {
      if (other === alg) continue;
      expect(verifySignature(alg, keys[alg].verify, input, signatures[other])).toBe(false);
      expect(verifySignature(other, keys[alg].verify, input, sig)).toBe(false);
    }
  });
});

describe('verifySignature key discipline', () => {
  it('refuses a private key where a public key belongs (ed25519, ECDSA)', () => {
    expect(verifySignature('ed25519', ed.privateKey, input, signatures.ed25519)).toBe(false);
    expect(verifySignature('ecdsa-p256-sha256', ec.privateKey, input, signatures['ecdsa-p256-sha256'])).toBe(
      false,
    );
  });

  it('refuses a hybrid key with swapped, missing or private halves', () => {
    const sig = signatures['ed25519+ml-dsa-65'];
    expect(verifySignature('ed25519+ml-dsa-65', hybrid.privateKey, input, sig)).toBe(false);
    const swapped = { ed25519: hybrid.publicKey.mlDsa65, mlDsa65: hybrid.publicKey.ed25519 };
    expect(verifySignature('ed25519+ml-dsa-65', swapped, input, sig)).toBe(false);
    const half = { ed25519: hybrid.publicKey.ed25519 } as unknown as VerificationKey;
    expect(verifySignature('ed25519+ml-dsa-65', half, input, sig)).toBe(false);
    expect(verifySignature('ed25519+ml-dsa-65', hybrid.publicKey.ed25519, input, sig)).toBe(false);
  });

  it('refuses an HMAC key shorter than 32 bytes even with the right tag', () => {
    const short = createSecretKey(new Uint8Array(16).fill(1));
    expect(verifySignature('hmac-sha256', short, input, signatures['hmac-sha256'])).toBe(false);
  });
});

describe('verifySignature never throws on attacker-controlled input', () => {
  const pool: unknown[] = [
    ed.publicKey,
    ed.privateKey,
    ec.publicKey,
    mac,
    hybrid.publicKey,
    hybrid.privateKey,
    generateKeyPairSync('ml-dsa-44').publicKey,
    generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
    generateKeyPairSync('x25519').publicKey,
    { ed25519: 'nope', mlDsa65: 3 },
    {},
    null,
    undefined,
    'ed25519',
    new Uint8Array(32),
  ];
  const algs = fc.oneof(
    fc.constantFrom(...SIGNATURE_ALGORITHMS),
    fc.string({ maxLength: 20 }),
    fc.constantFrom('none', '__proto__', 'constructor', 'ml-dsa-65'),
  );
  const sigs = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    fc.constantFrom(...Object.values(signatures)),
    fc
      .constantFrom(...SIGNATURE_ALGORITHMS)
      .chain((a) => fc.uint8Array({ minLength: SIGNATURE_LENGTHS[a], maxLength: SIGNATURE_LENGTHS[a] })),
  );

  it('answers a boolean for any (algorithm, key, message, signature)', () => {
    fc.assert(
      fc.property(
        algs,
        fc.constantFrom(...pool),
        fc.uint8Array({ maxLength: 64 }),
        sigs,
        (alg, key, msg, sig) => {
          const got = verifySignature(alg as SignatureAlgorithm, key as VerificationKey, msg, sig);
          expect(typeof got).toBe('boolean');
          // Only the genuine pair over the genuine input can be true, and the input here is random.
          expect(got).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('answers false for non-byte messages and signatures', () => {
    const junk = ['text', 42, null, undefined, [1, 2, 3], {}] as unknown as Uint8Array[];
    for (const j of junk) {
      expect(verifySignature('ed25519', ed.publicKey, j, signatures.ed25519)).toBe(false);
      expect(verifySignature('ed25519', ed.publicKey, input, j)).toBe(false);
    }
  });
});

describe('signMessage refuses mismatches with coded errors', () => {
  it.each([
    ['ed25519 with an ECDSA key', 'ed25519', ec.privateKey, 'CORE_INVALID_KEY'],
    ['ECDSA with an Ed25519 key', 'ecdsa-p256-sha256', ed.privateKey, 'CORE_INVALID_KEY'],
    ['HMAC with a private key', 'hmac-sha256', ed.privateKey, 'CORE_INVALID_KEY'],
    ['ed25519 with a public key', 'ed25519', ed.publicKey, 'CORE_INVALID_KEY'],
    ['the hybrid with one KeyObject', 'ed25519+ml-dsa-65', ed.privateKey, 'CORE_INVALID_KEY'],
    ['ed25519 with a hybrid key', 'ed25519', hybrid.privateKey, 'CORE_INVALID_KEY'],
    ['an unknown algorithm', 'none', ed.privateKey, 'CORE_INVALID_ARGUMENT'],
  ] as [string, string, SigningKey, string][])('%s', (_, alg, key, code) => {
    expect(coreErrorCode(() => signMessage(alg as SignatureAlgorithm, key, input))).toBe(code);
  });

  it('the hybrid refuses halves of the wrong type', () => {
    const bad = { ed25519: hybrid.privateKey.mlDsa65, mlDsa65: hybrid.privateKey.ed25519 } as {
      ed25519: KeyObject;
      mlDsa65: KeyObject;
    };
    expect(coreErrorCode(() => signMessage('ed25519+ml-dsa-65', bad, input))).toBe('CORE_INVALID_KEY');
  });
});
