/**
 * Merkle consistency proofs, RFC 9162 §2.1.4: generation (§2.1.4.1, SUBPROOF) and verification
 * (§2.1.4.2). A consistency proof shows that the tree of size2 is an append-only extension of the tree
 * of size1: the log did not rewrite history between two checkpoints it signed.
 *
 * Edge cases follow transparency-dev/merkle, whose vectors we test against (../shared/vectors/merkle):
 *  - size1 > size2 is refused;
 *  - size1 == 0 is refused, even with size2 == 0: a proof from the empty tree proves nothing;
 *  - size1 == size2 needs an empty proof and root1 equal to root2 (byte equality, nothing hashed);
 *  - otherwise the proof must be non-empty and every element, root1 and root2 must be 32 bytes.
 */
import { constantTimeEqual } from '../bytes.ts';
import { CoreError } from '../errors.ts';
import { isHash, nodeHash } from './hash.ts';
import {
  assertCount,
  assertLeafHashes,
  at,
  half,
  isOdd,
  largestPowerOfTwoBelow,
  subtreeRoot,
} from './internal/tree.ts';

export interface ConsistencyVerification {
  readonly size1: number;
  readonly size2: number;
  /** Root of the older tree (size1 leaves). */
  readonly root1: Uint8Array;
  /** Root of the newer tree (size2 leaves). */
  readonly root2: Uint8Array;
  readonly proof: readonly Uint8Array[];
}

/**
 * RFC 9162 §2.1.4.1 PROOF(size1, D[size2]) = SUBPROOF(size1, D[size2], true) over the first size2 of
 * `leafHashes`. Requires 0 < size1 <= size2 <= leafHashes.length (CORE_MERKLE_INVALID_RANGE otherwise);
 * size1 == size2 gives the empty proof. Iterative; O(size2) hashing.
 */
export function consistencyProof(
  leafHashes: readonly Uint8Array[],
  size1: number,
  size2: number,
): Uint8Array[] {
  assertLeafHashes(leafHashes);
  assertCount(size1, 'size1', 'CORE_MERKLE_INVALID_RANGE');
  assertCount(size2, 'size2', 'CORE_MERKLE_INVALID_RANGE');
  if (size1 === 0)
    throw new CoreError('CORE_MERKLE_INVALID_RANGE', 'no consistency proof from the empty tree');
  if (size1 > size2)
    throw new CoreError('CORE_MERKLE_INVALID_RANGE', `size1 ${size1} exceeds size2 ${size2}`);
  if (size2 > leafHashes.length) {
    throw new CoreError(
      'CORE_MERKLE_INVALID_RANGE',
      `size2 ${size2} exceeds the ${leafHashes.length} leaves given`,
    );
  }
  const topDown: Uint8Array[] = [];
  let start = 0;
  let end = size2;
  let m = size1;
  let complete = true; // SUBPROOF's b: is D[start:start+m] still a subtree the verifier knows the root of?
  for (;;) {
    if (m === end - start) {
      // SUBPROOF(m, D[m], true) = {}, SUBPROOF(m, D[m], false) = {MTH(D[m])}
      if (!complete) topDown.push(subtreeRoot(leafHashes, start, end));
      break;
    }
    const k = largestPowerOfTwoBelow(end - start);
    if (m <= k) {
      topDown.push(subtreeRoot(leafHashes, start + k, end)); // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      end = start + k;
    } else {
      topDown.push(subtreeRoot(leafHashes, start, start + k)); // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      start += k;
      m -= k;
      complete = false;
    }
  }
  return topDown.reverse();
}

/** RFC 9162 §2.1.4.2 verification; true only if the proof links root1 to root2. Never throws on bad input. */
export function verifyConsistency(input: ConsistencyVerification): boolean {
  const { size1, size2, root1, root2, proof } = input;
  try {
    assertCount(size1, 'size1', 'CORE_MERKLE_INVALID_RANGE');
    assertCount(size2, 'size2', 'CORE_MERKLE_INVALID_RANGE');
  } catch {
    return false;
  }
  if (!Array.isArray(proof) || !(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) return false;
  if (size1 > size2 || size1 === 0) return false;
  if (size1 === size2) return proof.length === 0 && constantTimeEqual(root1, root2);
  // Step 1: an empty path proves nothing between different sizes.
  if (proof.length === 0) return false;
  if (!isHash(root1) || !isHash(root2) || !proof.every(isHash)) return false;

  // Step 2: when size1 is a power of two, its root is the first node of the path and is not sent.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  // Step 3.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 4: skip the levels where the old tree's last leaf is a right child already folded in.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5. (path is non-empty: proof.length > 0.)
  let fr = at(path, 0);
  let sr = fr;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = at(path, i);
    if (sn === 0) return false; // 6a: more elements than levels.
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  return sn === 0 && constantTimeEqual(fr, root1) && constantTimeEqual(sr, root2);
}

function isPowerOfTwo(n: number): boolean {
  let v = n;
  while (v > 1 && !isOdd(v)) v = half(v);
  return v === 1;
}
