/**
 * ML-DSA-65 (ml-dsa-65.ts, FIPS 204): round trips, the fixed 3309-byte signature length, parameter-set
 * confusion (ML-DSA-44 / -87 keys and signatures), context strings (FIPS 204 §5.2: bound, ≤ 255 bytes),
 * seed and raw-key import, key ids. Keys are generated at test time. The outside authority for ML-DSA is
 * Wycheproof (wycheproof-ml-dsa-65.test.ts): this machine's `openssl` is 3.0, which has no ML-DSA.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign as nodeSign, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/bytes.ts';
import { generateEd25519KeyPair, keyIdOf } from '../../src/signature/ed25519.ts';
import {
  generateMlDsa65KeyPair,
  ML_DSA_65_PUBLIC_KEY_LENGTH,
  ML_DSA_65_SIGNATURE_LENGTH,
  mlDsa65KeyIdOf,
  mlDsa65PrivateKeyFromSeed,
  mlDsa65PublicKeyFromRaw,
  mlDsa65PublicKeyToRaw,
  mlDsa65Sign,
  mlDsa65Verify,
} from '../../src/signature/ml-dsa-65.ts';
import { flipBit } from '../helpers/merkle.ts';
import { coreErrorCode } from '../helpers/vectors.ts';

const { privateKey, publicKey } = generateMlDsa65KeyPair();
const message = utf8('FLEETGATE-SIG-V1\nan ML-DSA test message');
const signature = mlDsa65Sign(privateKey, message);

describe('mlDsa65Sign / mlDsa65Verify', () => {
  it('signs exactly 3309 bytes that verify; hedged, so two signatures differ and both verify', () => {
    expect(signature.byteLength).toBe(ML_DSA_65_SIGNATURE_LENGTH);
    expect(mlDsa65Verify(publicKey, message, signature)).toBe(true);
    const again = mlDsa65Sign(privateKey, message);
    expect(toHex(again)).not.toBe(toHex(signature));
    expect(mlDsa65Verify(publicKey, message, again)).toBe(true);
  });

  it('refuses another key, and single-bit flips of the signature or the message (property)', () => {
    expect(mlDsa65Verify(generateMlDsa65KeyPair().publicKey, message, signature)).toBe(false);
    fc.assert(
      fc.property(fc.nat(), (bit) => {
        expect(mlDsa65Verify(publicKey, message, flipBit(signature, bit))).toBe(false);
        expect(mlDsa65Verify(publicKey, flipBit(message, bit), signature)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses every length but 3309 before verifying', () => {
    for (const bad of [
      new Uint8Array(0),
      signature.subarray(0, ML_DSA_65_SIGNATURE_LENGTH - 1),
      new Uint8Array([...signature, 0]),
      new Uint8Array(2420),
      new Uint8Array(4627),
    ]) {
      expect(mlDsa65Verify(publicKey, message, bad)).toBe(false);
    }
  });

  it('refuses keys and signatures of the other parameter sets (ML-DSA-44, ML-DSA-87) and Ed25519 keys', () => {
    for (const other of ['ml-dsa-44', 'ml-dsa-87'] as const) {
      const pair = generateKeyPairSync(other);
      expect(coreErrorCode(() => mlDsa65Sign(pair.privateKey, message))).toBe('CORE_INVALID_KEY');
      expect(mlDsa65Verify(pair.publicKey, message, signature)).toBe(false);
      // A genuine signature of the other set, presented under the ML-DSA-65 key.
      const foreign = new Uint8Array(nodeSign(null, message, pair.privateKey));
      expect(mlDsa65Verify(publicKey, message, foreign)).toBe(false);
      expect(coreErrorCode(() => mlDsa65KeyIdOf(pair.publicKey))).toBe('CORE_INVALID_KEY');
    }
    const ed = generateEd25519KeyPair();
    expect(coreErrorCode(() => mlDsa65Sign(ed.privateKey, message))).toBe('CORE_INVALID_KEY');
    expect(mlDsa65Verify(ed.publicKey, message, signature)).toBe(false);
    expect(coreErrorCode(() => mlDsa65Sign(publicKey, message))).toBe('CORE_INVALID_KEY');
  });

  it('never throws on arbitrary signatures', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 3309, maxLength: 3309 })),
        (bytes) => {
          expect(typeof mlDsa65Verify(publicKey, message, bytes)).toBe('boolean');
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('ML-DSA context strings (FIPS 204 §5.2)', () => {
  const ctxA = utf8('fleetgate/a');
  const ctxB = utf8('fleetgate/b');
  const withA = mlDsa65Sign(privateKey, message, ctxA);

  it('binds the context: verifies only under the same one', () => {
    expect(mlDsa65Verify(publicKey, message, withA, ctxA)).toBe(true);
    expect(mlDsa65Verify(publicKey, message, withA, ctxB)).toBe(false);
    expect(mlDsa65Verify(publicKey, message, withA)).toBe(false);
    expect(mlDsa65Verify(publicKey, message, signature, ctxA)).toBe(false);
  });

  it('accepts a 255-byte context; refuses 256 bytes (sign: CORE_INVALID_ARGUMENT, verify: false)', () => {
    const max = randomBytes(255);
    expect(mlDsa65Verify(publicKey, message, mlDsa65Sign(privateKey, message, max), max)).toBe(true);
    const over = randomBytes(256);
    expect(coreErrorCode(() => mlDsa65Sign(privateKey, message, over))).toBe('CORE_INVALID_ARGUMENT');
    expect(mlDsa65Verify(publicKey, message, signature, over)).toBe(false);
  });
});

describe('ML-DSA-65 keys', () => {
  it('round-trips the raw 1952-byte public key; refuses other lengths', () => {
    const raw = mlDsa65PublicKeyToRaw(publicKey);
    expect(raw.byteLength).toBe(ML_DSA_65_PUBLIC_KEY_LENGTH);
    const back = mlDsa65PublicKeyFromRaw(raw);
    expect(back.equals(publicKey)).toBe(true);
    expect(mlDsa65Verify(back, message, signature)).toBe(true);
    for (const n of [0, 1312, 1951, 1953, 2592]) {
      expect(coreErrorCode(() => mlDsa65PublicKeyFromRaw(new Uint8Array(n)))).toBe('CORE_INVALID_KEY');
    }
  });

  it('derives the same key from the same 32-byte seed, and refuses other seed lengths', () => {
    const seed = randomBytes(32);
    const a = createPublicKey(mlDsa65PrivateKeyFromSeed(seed));
    const b = createPublicKey(mlDsa65PrivateKeyFromSeed(seed));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(createPublicKey(mlDsa65PrivateKeyFromSeed(randomBytes(32))))).toBe(false);
    const sig = mlDsa65Sign(mlDsa65PrivateKeyFromSeed(seed), message);
    expect(mlDsa65Verify(a, message, sig)).toBe(true);
    for (const n of [0, 31, 33, 64]) {
      expect(coreErrorCode(() => mlDsa65PrivateKeyFromSeed(randomBytes(n)))).toBe('CORE_INVALID_KEY');
    }
  });

  it('key id = hex SHA-256 of the SPKI DER, like keyIdOf, from the public or the private key', () => {
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const expected = createHash('sha256').update(spki).digest('hex');
    expect(mlDsa65KeyIdOf(publicKey)).toBe(expected);
    expect(mlDsa65KeyIdOf(privateKey)).toBe(expected);
    expect(keyIdOf(publicKey)).toBe(expected);
  });
});
