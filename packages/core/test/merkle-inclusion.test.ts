/**
 * Property tests (fast-check) for RFC 9162 §2.1.3 inclusion proofs and §2.1.1 hashing: every generated
 * proof verifies, any single bit flip in a proof, root or leaf hash makes it fail, the accepted proof
 * length matches transparency-dev/merkle's for sizes beyond 2^32, and rootFromInclusionProof's coded
 * errors say precisely what is wrong.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.ts';
import { leafHash, nodeHash } from '../src/merkle/hash.ts';
import { inclusionProof, rootFromInclusionProof, verifyInclusion } from '../src/merkle/inclusion.ts';
import { rootFromLeafHashes } from '../src/merkle/root.ts';
import { flipBit, hash, leaves } from './helpers/merkle.ts';
import { coreErrorCode } from './helpers/vectors.ts';

describe('inclusion proofs (RFC 9162 §2.1.3)', () => {
  it('every proof of every leaf verifies against the MTH', () => {
    fc.assert(
      fc.property(leaves(70), (tree) => {
        const root = rootFromLeafHashes(tree);
        tree.forEach((h, index) => {
          const proof = inclusionProof(tree, index);
          expect(verifyInclusion({ index, size: tree.length, leafHash: h, proof, root })).toBe(true);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a single bit flip in the proof, the root or the leaf hash fails', () => {
    const arb = leaves(70).chain((tree) =>
      fc.record({
        tree: fc.constant(tree),
        index: fc.nat(tree.length - 1),
        target: fc.constantFrom('proof', 'root', 'leaf'),
        element: fc.nat(),
        bit: fc.nat(255),
      }),
    );
    fc.assert(
      fc.property(arb, ({ tree, index, target, element, bit }) => {
        const size = tree.length;
        const root = rootFromLeafHashes(tree);
        const proof = inclusionProof(tree, index);
        const leaf = tree[index] ?? new Uint8Array();
        if (target === 'proof') {
          if (proof.length === 0) return; // a 1-leaf tree has no proof elements to flip
          const k = element % proof.length;
          const bad = proof.map((p, i) => (i === k ? flipBit(p, bit) : p));
          expect(verifyInclusion({ index, size, leafHash: leaf, proof: bad, root })).toBe(false);
        } else if (target === 'root') {
          expect(verifyInclusion({ index, size, leafHash: leaf, proof, root: flipBit(root, bit) })).toBe(
            false,
          );
        } else {
          expect(verifyInclusion({ index, size, leafHash: flipBit(leaf, bit), proof, root })).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('accepts exactly the RFC 9162 proof length for any safe (index, size), including above 2^32', () => {
    // Reference: transparency-dev/merkle decompInclProof, in BigInt: inner = bitlen(index ^ (size - 1)),
    // border = popcount(index >> inner).
    const expectedLength = (index: bigint, size: bigint): number => {
      const inner = (index ^ (size - 1n)).toString(2).replace(/^0+/, '').length;
      const border = [...(index >> BigInt(inner)).toString(2)].filter((c) => c === '1').length;
      return inner + border;
    };
    const arb = fc
      .bigInt({ min: 1n, max: BigInt(Number.MAX_SAFE_INTEGER) })
      .chain((size) => fc.tuple(fc.bigInt({ min: 0n, max: size - 1n }), fc.constant(size)));
    fc.assert(
      fc.property(arb, ([index, size]) => {
        const n = expectedLength(index, size);
        const input = (length: number) => ({
          index: Number(index),
          size: Number(size),
          leafHash: hash(0),
          proof: Array.from({ length }, (_, i) => hash(i + 1)),
        });
        expect(rootFromInclusionProof(input(n)).byteLength).toBe(32);
        expect(coreErrorCode(() => rootFromInclusionProof(input(n + 1)))).toBe('CORE_MERKLE_INVALID_PROOF');
        if (n > 0)
          expect(coreErrorCode(() => rootFromInclusionProof(input(n - 1)))).toBe('CORE_MERKLE_INVALID_PROOF');
      }),
      { numRuns: 300 },
    );
  });

  it('rootFromInclusionProof throws precise coded errors', () => {
    const tree = [hash(1), hash(2), hash(3)];
    const proof = inclusionProof(tree, 2);
    const ok = { index: 2, size: 3, leafHash: hash(3), proof };
    expect(toHex(rootFromInclusionProof(ok))).toBe(toHex(rootFromLeafHashes(tree)));

    const errorOf = (input: Parameters<typeof rootFromInclusionProof>[0]): string => {
      try {
        rootFromInclusionProof(input);
      } catch (error) {
        return `${(error as { code: string }).code}: ${(error as Error).message}`;
      }
      return 'no error';
    };
    expect(errorOf({ ...ok, index: 3 })).toBe(
      'CORE_MERKLE_INVALID_RANGE: leaf index 3 is not below tree size 3',
    );
    expect(errorOf({ ...ok, size: 0, index: 0 })).toMatch(
      /^CORE_MERKLE_INVALID_RANGE: leaf index 0 is not below/,
    );
    expect(errorOf({ ...ok, index: -1 })).toMatch(/^CORE_MERKLE_INVALID_RANGE: leaf index must be/);
    expect(errorOf({ ...ok, size: 2 ** 53 })).toMatch(/^CORE_MERKLE_INVALID_RANGE: tree size must be/);
    expect(errorOf({ ...ok, index: 0.5 })).toMatch(/^CORE_MERKLE_INVALID_RANGE/);
    expect(errorOf({ ...ok, proof: [...proof, hash(9)] })).toBe(
      'CORE_MERKLE_INVALID_PROOF: wrong proof length for leaf 2 of 3: expected 1, got 2',
    );
    expect(errorOf({ ...ok, proof: [] })).toBe(
      'CORE_MERKLE_INVALID_PROOF: wrong proof length for leaf 2 of 3: expected 1, got 0',
    );
    expect(errorOf({ ...ok, proof: [new Uint8Array(31)] })).toBe(
      'CORE_MERKLE_INVALID_PROOF: proof element 0 must be 32 bytes',
    );
    expect(errorOf({ ...ok, leafHash: new Uint8Array(33) })).toBe(
      'CORE_MERKLE_INVALID_PROOF: leaf hash must be 32 bytes',
    );
  });

  it('verifyInclusion answers false, never throws, on malformed input', () => {
    const junk: unknown[] = [null, undefined, 'abc', 42, [null], [new Uint8Array(32), 'x'], {}];
    for (const proof of junk) {
      const input = { index: 0, size: 2, leafHash: hash(1), proof, root: hash(2) } as never;
      expect(verifyInclusion(input)).toBe(false);
    }
    expect(
      verifyInclusion({ index: 0, size: 1, leafHash: hash(1), proof: [], root: new Uint8Array(0) }),
    ).toBe(false);
    expect(verifyInclusion({ index: Number.NaN, size: 1, leafHash: hash(1), proof: [], root: hash(1) })).toBe(
      false,
    );
    expect(verifyInclusion({ index: 0, size: 1, leafHash: hash(1), proof: [], root: hash(1) })).toBe(true);
  });

  it('inclusionProof refuses an index outside the tree and bad leaf hashes', () => {
    expect(coreErrorCode(() => inclusionProof([hash(1)], 1))).toBe('CORE_MERKLE_INVALID_RANGE');
    expect(coreErrorCode(() => inclusionProof([], 0))).toBe('CORE_MERKLE_INVALID_RANGE');
    expect(coreErrorCode(() => inclusionProof([new Uint8Array(3)], 0))).toBe('CORE_INVALID_ARGUMENT');
  });
});

describe('hashing (RFC 9162 §2.1.1)', () => {
  it('separates leaves from nodes and refuses children that are not 32 bytes', () => {
    const a = hash(1);
    const b = hash(2);
    expect(toHex(leafHash(new Uint8Array([...a, ...b])))).not.toBe(toHex(nodeHash(a, b)));
    expect(coreErrorCode(() => nodeHash(a, new Uint8Array(31)))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => rootFromLeafHashes([a, new Uint8Array(64)]))).toBe('CORE_INVALID_ARGUMENT');
  });
});
