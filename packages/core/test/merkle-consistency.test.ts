/**
 * Property tests (fast-check) for RFC 9162 §2.1.4 consistency proofs: every generated proof verifies,
 * any single bit flip in the proof or either root fails, a rewritten history fails, and the edge cases
 * follow transparency-dev/merkle.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consistencyProof, verifyConsistency } from '../src/merkle/consistency.ts';
import { leafHash, nodeHash } from '../src/merkle/hash.ts';
import { rootFromLeafHashes } from '../src/merkle/root.ts';
import { flipBit, hash, leaves } from './helpers/merkle.ts';
import { coreErrorCode } from './helpers/vectors.ts';

describe('consistency proofs (RFC 9162 §2.1.4)', () => {
  const pairs = leaves(70).chain((tree) =>
    fc.tuple(fc.constant(tree), fc.integer({ min: 1, max: tree.length })),
  );

  it('every proof between every prefix and the whole tree verifies', () => {
    fc.assert(
      fc.property(pairs, ([tree, size1]) => {
        const size2 = tree.length;
        const root1 = rootFromLeafHashes(tree.slice(0, size1));
        const root2 = rootFromLeafHashes(tree);
        const proof = consistencyProof(tree, size1, size2);
        expect(verifyConsistency({ size1, size2, root1, root2, proof })).toBe(true);
        if (size1 < size2) expect(proof.length).toBeGreaterThan(0);
        else expect(proof).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('a single bit flip in the proof or either root fails', () => {
    const arb = pairs.chain(([tree, size1]) =>
      fc.record({
        tree: fc.constant(tree),
        size1: fc.constant(size1),
        target: fc.constantFrom('proof', 'root1', 'root2'),
        element: fc.nat(),
        bit: fc.nat(255),
      }),
    );
    fc.assert(
      fc.property(arb, ({ tree, size1, target, element, bit }) => {
        const size2 = tree.length;
        const root1 = rootFromLeafHashes(tree.slice(0, size1));
        const root2 = rootFromLeafHashes(tree);
        const proof = consistencyProof(tree, size1, size2);
        if (target === 'proof') {
          if (proof.length === 0) return; // equal sizes: the proof is empty
          const k = element % proof.length;
          const bad = proof.map((p, i) => (i === k ? flipBit(p, bit) : p));
          expect(verifyConsistency({ size1, size2, root1, root2, proof: bad })).toBe(false);
        } else if (target === 'root1') {
          expect(verifyConsistency({ size1, size2, root1: flipBit(root1, bit), root2, proof })).toBe(false);
        } else {
          expect(verifyConsistency({ size1, size2, root1, root2: flipBit(root2, bit), proof })).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a proof between other sizes, or from a rewritten history, does not verify', () => {
    fc.assert(
      fc.property(pairs, fc.nat(), ([tree, size1], seed) => {
        const size2 = tree.length;
        if (size1 === size2) return;
        const proof = consistencyProof(tree, size1, size2);
        const root2 = rootFromLeafHashes(tree);
        // The old tree had a different leaf somewhere in its range: its root differs.
        const rewritten = tree.slice(0, size1);
        const j = seed % size1;
        rewritten[j] = leafHash(new Uint8Array([...(tree[j] ?? []), 1]));
        const root1 = rootFromLeafHashes(rewritten);
        expect(verifyConsistency({ size1, size2, root1, root2, proof })).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses the edge cases transparency-dev/merkle refuses, and never throws', () => {
    const [a, b] = [hash(1), hash(2)];
    expect(verifyConsistency({ size1: 0, size2: 0, root1: a, root2: a, proof: [] })).toBe(false);
    expect(verifyConsistency({ size1: 2, size2: 1, root1: a, root2: b, proof: [] })).toBe(false);
    expect(verifyConsistency({ size1: 1, size2: 2, root1: a, root2: b, proof: [] })).toBe(false);
    expect(verifyConsistency({ size1: 3, size2: 3, root1: a, root2: a, proof: [] })).toBe(true);
    expect(verifyConsistency({ size1: 3, size2: 3, root1: a, root2: a, proof: [a] })).toBe(false);
    expect(verifyConsistency({ size1: 3, size2: 3, root1: a, root2: b, proof: [] })).toBe(false);
    expect(verifyConsistency({ size1: 1, size2: 2, root1: a, root2: nodeHash(a, b), proof: [b] })).toBe(true);
    expect(verifyConsistency({ size1: 1, size2: 2, root1: a, root2: nodeHash(a, b), proof: [b, b] })).toBe(
      false,
    );
    for (const junk of [null, 'x', [null], [new Uint8Array(5)]]) {
      expect(verifyConsistency({ size1: 1, size2: 2, root1: a, root2: b, proof: junk } as never)).toBe(false);
    }
    expect(verifyConsistency({ size1: 2 ** 60, size2: 2 ** 61, root1: a, root2: b, proof: [a] })).toBe(false);
  });

  it('consistencyProof refuses sizes outside 0 < size1 <= size2 <= leaves', () => {
    const tree = [hash(1), hash(2), hash(3)];
    expect(coreErrorCode(() => consistencyProof(tree, 0, 3))).toBe('CORE_MERKLE_INVALID_RANGE');
    expect(coreErrorCode(() => consistencyProof(tree, 3, 2))).toBe('CORE_MERKLE_INVALID_RANGE');
    expect(coreErrorCode(() => consistencyProof(tree, 1, 4))).toBe('CORE_MERKLE_INVALID_RANGE');
    expect(consistencyProof(tree, 2, 2)).toEqual([]);
  });
});
