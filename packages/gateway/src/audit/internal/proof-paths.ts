/**
 * RFC 9162 §2.1.3.1 PATH and §2.1.4.1 PROOF/SUBPROOF over the tiled tree — the same top-down walks as
 * @fleetgate/core/merkle (inclusion.ts, consistency.ts), but each subtree hash comes from tiles
 * (TileReader.ranges) instead of from every leaf, so a proof costs O(log n) hashes read, not O(n).
 * The walks depend only on the sizes, so each first lists the ranges it needs and the reader fetches
 * every tile for all of them at once (one query for what its LRU lacks).
 * Not exported; callers validate the sizes and verify the result against the signed root.
 */

/** [start, end) of a subtree whose MTH a proof holds. */
export type Range = readonly [number, number];

/** Largest power of two strictly below n (n > 1). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The ranges of PATH(index, D[0:size]), ordered from the leaf's sibling up to the root's child. */
export function inclusionRanges(index: number, size: number): Range[] {
  const topDown: Range[] = [];
  let start = 0;
  let end = size;
  let m = index;
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    if (m < k) {
      topDown.push([start + k, end]);
      end = start + k;
    } else {
      topDown.push([start, start + k]);
      start += k;
      m -= k;
    }
  }
  return topDown.reverse();
}

/** The ranges of PROOF(size1, D[0:size2]) for 0 < size1 <= size2; none when the sizes are equal. */
export function consistencyRanges(size1: number, size2: number): Range[] {
  const topDown: Range[] = [];
  let start = 0;
  let end = size2;
  let m = size1;
  let complete = true;
  for (;;) {
    if (m === end - start) {
      if (!complete) topDown.push([start, end]);
      break;
    }
    const k = largestPowerOfTwoBelow(end - start);
    if (m <= k) {
      topDown.push([start + k, end]);
      end = start + k;
    } else {
      topDown.push([start, start + k]);
      start += k;
      m -= k;
      complete = false;
    }
  }
  return topDown.reverse();
}
