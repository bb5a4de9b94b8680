/**
 * RFC 9162 §2.1.3.1 PATH and §2.1.4.1 PROOF/SUBPROOF over the tiled tree — the same top-down walks as
 * @fleetgate/core/merkle (inclusion.ts, consistency.ts), but each subtree hash comes from tiles
 * (TileReader.range) instead of from every leaf, so a proof costs O(log n) hashes read, not O(n).
 * Not exported; callers validate the sizes and verify the result against the signed root.
 */
import type { TileReader } from './tiles.ts';

/** Largest power of two strictly below n (n > 1). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** PATH(index, D[0:size]), ordered from the leaf's sibling up to the root's child. */
export async function inclusionPath(tiles: TileReader, index: number, size: number): Promise<Uint8Array[]> {
  const topDown: Uint8Array[] = [];
  let start = 0;
  let end = size;
  let m = index;
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    if (m < k) {
      topDown.push(await tiles.range(start + k, end));
      end = start + k;
    } else {
      topDown.push(await tiles.range(start, start + k));
      start += k;
      m -= k;
    }
  }
  return topDown.reverse();
}

/** PROOF(size1, D[0:size2]) for 0 < size1 <= size2; empty when the sizes are equal. */
export async function consistencyPath(
  tiles: TileReader,
  size1: number,
  size2: number,
): Promise<Uint8Array[]> {
  const topDown: Uint8Array[] = [];
  let start = 0;
  let end = size2;
  let m = size1;
  let complete = true;
  for (;;) {
    if (m === end - start) {
      if (!complete) topDown.push(await tiles.range(start, end));
      break;
    }
    const k = largestPowerOfTwoBelow(end - start);
    if (m <= k) {
      topDown.push(await tiles.range(start + k, end));
      end = start + k;
    } else {
      topDown.push(await tiles.range(start, start + k));
      start += k;
      m -= k;
      complete = false;
    }
  }
  return topDown.reverse();
}
