/**
 * Merkle inclusion proofs, RFC 9162 §2.1.3: generation (§2.1.3.1, PATH) and verification (§2.1.3.2).
 *
 * A tender's receipt is its inclusion proof, checked by auditors offline, so the verifier follows
 * §2.1.3.2 step by step and takes nothing on trust: index, size, leaf hash and every proof element are
 * attacker-controlled when a proof arrives from outside, and are checked before any hashing.
 * rootFromInclusionProof() says precisely what is wrong (coded CoreError); verifyInclusion() answers
 * only true or false and never throws on a malformed proof.
 */
import { constantTimeEqual } from '../bytes.ts';
import { CoreError } from '../errors.ts';
import { HASH_SIZE, isHash, nodeHash } from './hash.ts';
import {
  assertCount,
  assertLeafHashes,
  half,
  isOdd,
  largestPowerOfTwoBelow,
  subtreeRoot,
} from './internal/tree.ts';

export interface InclusionProofInput {
  /** 0-based index of the leaf in the tree. */
  readonly index: number;
  /** Tree size the proof is for. */
  readonly size: number;
  /** The leaf's hash, SHA-256(0x00 || entry). */
  readonly leafHash: Uint8Array;
  /** Sibling hashes from the leaf up to the root. */
  readonly proof: readonly Uint8Array[];
}

export interface InclusionVerification extends InclusionProofInput {
  /** Root hash of the tree of `size` leaves, e.g. from a verified checkpoint. */
  readonly root: Uint8Array;
}

/**
 * RFC 9162 §2.1.3.1 PATH(index, D[n]) for the tree whose leaves are all of `leafHashes`, ordered from
 * the leaf's sibling up to the root's child. Iterative; O(n) hashing.
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  assertLeafHashes(leafHashes);
  assertCount(index, 'leaf index', 'CORE_MERKLE_INVALID_RANGE');
  if (index >= leafHashes.length) {
    throw new CoreError(
      'CORE_MERKLE_INVALID_RANGE',
      `leaf index ${index} is not below tree size ${leafHashes.length}`,
    );
  }
  // Walk down from the root; the sibling subtree at each split is the next proof element (top first).
  const topDown: Uint8Array[] = [];
  let start = 0;
  let end = leafHashes.length;
  let m = index;
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    if (m < k) {
      topDown.push(subtreeRoot(leafHashes, start + k, end)); // PATH(m, D[0:k]) : MTH(D[k:n])
      end = start + k;
    } else {
      topDown.push(subtreeRoot(leafHashes, start, start + k)); // PATH(m - k, D[k:n]) : MTH(D[0:k])
      start += k;
      m -= k;
    }
  }
  return topDown.reverse();
}

/**
 * Recomputes the root from an inclusion proof by RFC 9162 §2.1.3.2. Throws CoreError:
 * CORE_MERKLE_INVALID_RANGE when index or size are not safe integers or index >= size;
 * CORE_MERKLE_INVALID_PROOF when the proof is not an array, has the wrong number of elements for
 * (index, size), or the leaf hash or a proof element is not 32 bytes.
 */
export function rootFromInclusionProof(input: InclusionProofInput): Uint8Array {
  const { index, size, leafHash, proof } = input;
  assertCount(index, 'leaf index', 'CORE_MERKLE_INVALID_RANGE');
  assertCount(size, 'tree size', 'CORE_MERKLE_INVALID_RANGE');
  // Step 1: leaf_index must be below tree_size.
  if (index >= size) {
    throw new CoreError('CORE_MERKLE_INVALID_RANGE', `leaf index ${index} is not below tree size ${size}`);
  }
  if (!isHash(leafHash)) {
    throw new CoreError('CORE_MERKLE_INVALID_PROOF', `leaf hash must be ${HASH_SIZE} bytes`);
  }
  if (!Array.isArray(proof)) throw new CoreError('CORE_MERKLE_INVALID_PROOF', 'proof must be an array');
  const expected = inclusionProofLength(index, size);
  if (proof.length !== expected) {
    throw new CoreError(
      'CORE_MERKLE_INVALID_PROOF',
      `wrong proof length for leaf ${index} of ${size}: expected ${expected}, got ${proof.length}`,
    );
  }
  for (let i = 0; i < proof.length; i++) {
    if (!isHash(proof[i])) {
      throw new CoreError('CORE_MERKLE_INVALID_PROOF', `proof element ${i} must be ${HASH_SIZE} bytes`);
    }
  }

  // Steps 2-3.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  // Step 4.
  for (const p of proof) {
    // 4a. More elements than levels: cannot happen after the length check, kept to mirror the spec.
    if (sn === 0) throw new CoreError('CORE_MERKLE_INVALID_PROOF', 'proof is longer than the path');
    if (isOdd(fn) || fn === sn) {
      // 4b. p is a left sibling.
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        // Skip the levels where this node is the right edge's lone child (no sibling in the proof).
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p); // p is a right sibling.
    }
    // 4c.
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5 (the root comparison is the caller's, see verifyInclusion).
  if (sn !== 0) throw new CoreError('CORE_MERKLE_INVALID_PROOF', 'proof is shorter than the path');
  return r;
}

/** RFC 9162 §2.1.3.2 verification: true only if the proof recomputes exactly `root`. Never throws on bad input. */
export function verifyInclusion(input: InclusionVerification): boolean {
  let computed: Uint8Array;
  try {
    computed = rootFromInclusionProof(input);
  } catch (error) {
    if (error instanceof CoreError) return false;
    throw error;
  }
  return isHash(input.root) && constantTimeEqual(computed, input.root);
}

/** The number of iterations of §2.1.3.2 step 4 that bring sn to 0: the only valid proof length. */
function inclusionProofLength(index: number, size: number): number {
  let fn = index;
  let sn = size - 1;
  let length = 0;
  while (sn !== 0) {
    if (!isOdd(fn) && fn === sn) {
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    }
    fn = half(fn);
    sn = half(sn);
    length++;
  }
  return length;
}
