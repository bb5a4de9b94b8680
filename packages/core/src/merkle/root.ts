/**
 * The Merkle Tree Hash MTH(D[n]) of RFC 9162 §2.1.1 over a list of leaf hashes:
 *
 *   MTH({})    = SHA-256()
 *   MTH({d0})  = leaf hash of d0 (the caller passes leaf hashes, already domain-separated)
 *   MTH(D[n])  = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   with k the largest power of two < n
 *
 * Inputs are leaf hashes (see ./hash.ts leafHash), not raw entries, so that a log can recompute roots
 * from stored hashes without re-reading its entries. Every leaf hash must be 32 bytes. For incremental
 * roots over a growing log use ./frontier.ts; this function is the reference the frontier is tested
 * against and the one proof generation uses.
 */
import { emptyRoot } from './hash.ts';
import { assertLeafHashes, subtreeRoot } from './internal/tree.ts';

/** RFC 9162 §2.1.1 MTH over `leafHashes`; the empty list gives SHA-256(""). Always a fresh array. */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  assertLeafHashes(leafHashes);
  if (leafHashes.length === 0) return emptyRoot();
  return subtreeRoot(leafHashes, 0, leafHashes.length);
}
