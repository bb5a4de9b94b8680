/**
 * The compact range of an append-only RFC 9162 Merkle tree (RFC 9162 §2.1.1 MTH, computed
 * incrementally): the roots of the perfect subtrees along the tree's right edge, one per set bit of
 * the tree size, from the largest (leftmost) to the smallest. A tree of size 6 = 0b110 keeps
 * [MTH(D[0:4]), MTH(D[4:6])].
 *
 *  - append(leafHash) is O(log n): like incrementing a binary counter, every trailing 1 bit of the old
 *    size merges the two rightmost subtrees into one.
 *  - root() folds the subtrees right to left, HASH(0x01 || left || right), which is exactly the
 *    MTH's split at the largest power of two below n; it is tested against rootFromLeafHashes for
 *    every prefix.
 *  - hashes() / restore(size, hashes) persist and reload the state (popcount(size) hashes of 32 bytes).
 *
 * restore() checks the shape of what it is given, not its truth: it has no leaves to recompute from.
 * A log that reloads a frontier from its own store should compare root() with the root of the last
 * checkpoint it signed before appending to it.
 */
import { CoreError } from '../errors.ts';
import { emptyRoot, HASH_SIZE, isHash, nodeHash } from './hash.ts';
import { assertCount, at, half, isOdd, popcount } from './internal/tree.ts';

export class MerkleFrontier {
  #size = 0;
  /** Perfect-subtree roots, largest first; length is always popcount(#size). Never shared outward. */
  readonly #hashes: Uint8Array[] = [];

  /** Reloads a frontier persisted with hashes(); refuses a hash count other than popcount(size). */
  static restore(size: number, hashes: readonly Uint8Array[]): MerkleFrontier {
    assertCount(size, 'frontier size', 'CORE_MERKLE_INVALID_RANGE');
    if (!Array.isArray(hashes))
      throw new CoreError('CORE_INVALID_ARGUMENT', 'frontier hashes must be an array');
    const expected = popcount(size);
    if (hashes.length !== expected) {
      throw new CoreError(
        'CORE_INVALID_ARGUMENT',
        `a frontier of size ${size} has ${expected} hashes, got ${hashes.length}`,
      );
    }
    const frontier = new MerkleFrontier();
    for (let i = 0; i < hashes.length; i++) {
      const h = hashes[i];
      if (!isHash(h))
        throw new CoreError('CORE_INVALID_ARGUMENT', `frontier hash ${i} is not ${HASH_SIZE} bytes`);
      frontier.#hashes.push(h.slice());
    }
    frontier.#size = size;
    return frontier;
  }

  /** Number of leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends one leaf hash (see ./hash.ts leafHash); O(log n) node hashes. */
  append(leafHash: Uint8Array): void {
    if (!isHash(leafHash))
      throw new CoreError('CORE_INVALID_ARGUMENT', `leaf hash must be ${HASH_SIZE} bytes`);
    if (this.#size >= Number.MAX_SAFE_INTEGER) {
      throw new CoreError('CORE_MERKLE_INVALID_RANGE', 'frontier is full (2^53 - 1 leaves)');
    }
    let node: Uint8Array = leafHash.slice();
    // Each trailing 1 bit of the old size is a perfect subtree of the same height as `node`: merge.
    for (let s = this.#size; isOdd(s); s = half(s)) {
      const left = this.#hashes.pop();
      if (left === undefined) throw new CoreError('CORE_INVALID_ARGUMENT', 'frontier state is corrupt');
      node = nodeHash(left, node);
    }
    this.#hashes.push(node);
    this.#size += 1;
  }

  /** MTH of the leaves appended so far (SHA-256("") when empty); a fresh array. */
  root(): Uint8Array {
    const n = this.#hashes.length;
    if (n === 0) return emptyRoot();
    let root: Uint8Array = at(this.#hashes, n - 1).slice();
    for (let i = n - 2; i >= 0; i--) root = nodeHash(at(this.#hashes, i), root);
    return root;
  }

  /** The perfect-subtree roots, largest first, as copies: what restore() takes back. */
  hashes(): Uint8Array[] {
    return this.#hashes.map((h) => h.slice());
  }
}
