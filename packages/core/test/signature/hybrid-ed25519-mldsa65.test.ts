/**
 * Hybrid Ed25519 + ML-DSA-65 (hybrid-ed25519-mldsa65.ts): both components must verify over the same
 * label-bound message. Attacks tried here, each must fail: a single-bit flip anywhere in either component
 * or in the message (fast-check; exhaustively over the Ed25519 half), stripping a component (downgrade),
 * swapping the components, grafting a plain Ed25519 signature over the bare signing input into a hybrid,
 * lifting the Ed25519 (or ML-DSA) half out and presenting it as a plain signature, mixing halves across
 * messages or keys, and component keys of the wrong type or parameter set. Keys are generated at test time.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, utf8 } from '../../src/bytes.ts';
import {
  ED25519_SIGNATURE_LENGTH,
  ed25519Sign,
  ed25519Verify,
  keyIdOf,
} from '../../src/signature/ed25519.ts';
import {
  generateHybridEd25519MlDsa65KeyPair,
  HYBRID_ED25519_MLDSA65_LABEL,
  HYBRID_ED25519_MLDSA65_SIGNATURE_LENGTH,
  hybridEd25519MlDsa65KeyIdOf,
  hybridEd25519MlDsa65Sign,
  hybridEd25519MlDsa65Verify,
} from '../../src/signature/hybrid-ed25519-mldsa65.ts';
import { ML_DSA_65_SIGNATURE_LENGTH, mlDsa65Verify } from '../../src/signature/ml-dsa-65.ts';
import { signingInput } from '../../src/signature/signing-input.ts';
import { verifySignature } from '../../src/signature/verify.ts';
import { flipBit } from '../helpers/merkle.ts';
import { coreErrorCode } from '../helpers/vectors.ts';

const { privateKey, publicKey } = generateHybridEd25519MlDsa65KeyPair();
const input = signingInput(
  'application/vnd.fleetgate.telemetry-batch.v1+protobuf',
  42n,
  utf8('a batch of records'),
);
const signature = hybridEd25519MlDsa65Sign(privateKey, input);
const edPart = signature.subarray(0, ED25519_SIGNATURE_LENGTH);
const mlPart = signature.subarray(ED25519_SIGNATURE_LENGTH);
const verifyHybrid = (sig: Uint8Array, msg: Uint8Array = input): boolean =>
  hybridEd25519MlDsa65Verify(publicKey, msg, sig);

describe('hybrid Ed25519 + ML-DSA-65: layout and round trip', () => {
  it('is ed25519 (64) || ml-dsa-65 (3309) = 3373 bytes and verifies', () => {
    expect(HYBRID_ED25519_MLDSA65_SIGNATURE_LENGTH).toBe(64 + 3309);
    expect(signature.byteLength).toBe(HYBRID_ED25519_MLDSA65_SIGNATURE_LENGTH);
    expect(mlPart.byteLength).toBe(ML_DSA_65_SIGNATURE_LENGTH);
    expect(verifyHybrid(signature)).toBe(true);
  });

  it('each component signs label || message (the ML-DSA one under its own context)', () => {
    const bound = concatBytes(utf8(HYBRID_ED25519_MLDSA65_LABEL), input);
    expect(ed25519Verify(publicKey.ed25519, bound, edPart)).toBe(true);
    expect(mlDsa65Verify(publicKey.mlDsa65, bound, mlPart, utf8('FLEETGATE-HYBRID-ED25519-MLDSA65'))).toBe(
      true,
    );
  });
});

describe('hybrid: bit flips', () => {
  it('every single-bit flip of the Ed25519 component fails (exhaustive, 512 bits)', () => {
    for (let bit = 0; bit < ED25519_SIGNATURE_LENGTH * 8; bit += 1) {
      expect(verifyHybrid(flipBit(signature, bit))).toBe(false);
    }
  });

  it('a single-bit flip anywhere in the composite fails (property over all 26,984 bits)', () => {
    fc.assert(
      fc.property(fc.nat({ max: HYBRID_ED25519_MLDSA65_SIGNATURE_LENGTH * 8 - 1 }), (bit) => {
        expect(verifyHybrid(flipBit(signature, bit))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('a single-bit flip anywhere in the ML-DSA component fails (property over its 26,472 bits)', () => {
    fc.assert(
      fc.property(fc.nat({ max: ML_DSA_65_SIGNATURE_LENGTH * 8 - 1 }), (bit) => {
        expect(verifyHybrid(flipBit(signature, ED25519_SIGNATURE_LENGTH * 8 + bit))).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('a single-bit flip anywhere in the message fails (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: input.byteLength * 8 - 1 }), (bit) => {
        expect(verifyHybrid(signature, flipBit(input, bit))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('hybrid: downgrade, swap and graft', () => {
  it.each([
    ['the Ed25519 component alone (ML-DSA stripped)', () => edPart],
    ['the ML-DSA component alone (Ed25519 stripped)', () => mlPart],
    [
      'Ed25519 || zeros (ML-DSA blanked)',
      () => concatBytes(edPart, new Uint8Array(ML_DSA_65_SIGNATURE_LENGTH)),
    ],
    [
      'zeros || ML-DSA (Ed25519 blanked)',
      () => concatBytes(new Uint8Array(ED25519_SIGNATURE_LENGTH), mlPart),
    ],
    ['the components swapped (ML-DSA || Ed25519, same length)', () => concatBytes(mlPart, edPart)],
    ['one byte short', () => signature.subarray(0, signature.byteLength - 1)],
    ['one byte long', () => concatBytes(signature, new Uint8Array(1))],
    ['empty', () => new Uint8Array(0)],
  ])('refuses %s', (_, make) => {
    expect(verifyHybrid(make())).toBe(false);
  });

  it('a valid plain Ed25519 signature over the bare signing input does not verify as hybrid', () => {
    const plain = ed25519Sign(privateKey.ed25519, input);
    expect(ed25519Verify(publicKey.ed25519, input, plain)).toBe(true);
    expect(verifyHybrid(concatBytes(plain, mlPart))).toBe(false);
  });

  it("the hybrid's Ed25519 half does not verify as a plain Ed25519 signature over the bare signing input", () => {
    expect(ed25519Verify(publicKey.ed25519, input, edPart)).toBe(false);
    expect(verifySignature('ed25519', publicKey.ed25519, input, edPart)).toBe(false);
  });

  it("the hybrid's ML-DSA half does not verify as a plain (empty-context) ML-DSA signature", () => {
    const bound = concatBytes(utf8(HYBRID_ED25519_MLDSA65_LABEL), input);
    expect(mlDsa65Verify(publicKey.mlDsa65, input, mlPart)).toBe(false);
    expect(mlDsa65Verify(publicKey.mlDsa65, bound, mlPart)).toBe(false);
  });

  it('halves taken from signatures over two different messages do not combine', () => {
    const other = hybridEd25519MlDsa65Sign(privateKey, flipBit(input, 7));
    expect(verifyHybrid(concatBytes(edPart, other.subarray(ED25519_SIGNATURE_LENGTH)))).toBe(false);
    expect(verifyHybrid(concatBytes(other.subarray(0, ED25519_SIGNATURE_LENGTH), mlPart))).toBe(false);
  });

  it('a key whose halves come from two different hybrid keys verifies neither signer', () => {
    const b = generateHybridEd25519MlDsa65KeyPair();
    const mixed = { ed25519: publicKey.ed25519, mlDsa65: b.publicKey.mlDsa65 };
    expect(hybridEd25519MlDsa65Verify(mixed, input, signature)).toBe(false);
    expect(hybridEd25519MlDsa65Verify(mixed, input, hybridEd25519MlDsa65Sign(b.privateKey, input))).toBe(
      false,
    );
  });

  it('component keys of the wrong type or parameter set answer false, never throw', () => {
    const ml44 = generateKeyPairSync('ml-dsa-44').publicKey;
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(hybridEd25519MlDsa65Verify({ ed25519: publicKey.ed25519, mlDsa65: ml44 }, input, signature)).toBe(
      false,
    );
    expect(hybridEd25519MlDsa65Verify({ ed25519: p256, mlDsa65: publicKey.mlDsa65 }, input, signature)).toBe(
      false,
    );
    expect(
      hybridEd25519MlDsa65Verify(
        { ed25519: publicKey.mlDsa65, mlDsa65: publicKey.ed25519 },
        input,
        signature,
      ),
    ).toBe(false);
  });
});

describe('hybrid key id', () => {
  it('is SHA-256 over a label and both SPKIs; the same from the private key; distinct from each half', () => {
    const spki = (k: typeof publicKey.ed25519): Buffer => k.export({ format: 'der', type: 'spki' });
    const expected = createHash('sha256')
      .update('FLEETGATE-HYBRID-ED25519-MLDSA65-KEY\n')
      .update(spki(publicKey.ed25519))
      .update(spki(publicKey.mlDsa65))
      .digest('hex');
    const id = hybridEd25519MlDsa65KeyIdOf(publicKey);
    expect(id).toBe(expected);
    expect(hybridEd25519MlDsa65KeyIdOf(privateKey)).toBe(id);
    expect(id).not.toBe(keyIdOf(publicKey.ed25519));
    expect(id).not.toBe(keyIdOf(publicKey.mlDsa65));
  });

  it('refuses halves of the wrong type', () => {
    const swapped = { ed25519: publicKey.mlDsa65, mlDsa65: publicKey.ed25519 };
    expect(coreErrorCode(() => hybridEd25519MlDsa65KeyIdOf(swapped))).toBe('CORE_INVALID_KEY');
  });
});
