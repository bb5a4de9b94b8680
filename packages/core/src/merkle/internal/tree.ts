/**
 * Shared internals of the RFC 9162 §2.1 Merkle math (not exported from the package).
 *
 * Tree sizes and indices are JavaScript numbers limited to Number.MAX_SAFE_INTEGER (2^53 - 1): far more
 * entries than one log will hold, and exact in IEEE-754. Bit operations therefore use arithmetic
 * (`% 2`, `Math.floor(x / 2)`), never the 32-bit `>>`/`&` operators that would truncate above 2^31.
 */
import { CoreError, type CoreErrorCode } from '../../errors.ts';
import { HASH_SIZE, isHash, nodeHash } from '../hash.ts';

/** Sizes and indices are non-negative safe integers; anything else is refused with `code`. */
export function assertCount(value: unknown, what: string, code: CoreErrorCode): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new CoreError(code, `${what} must be a non-negative safe integer`);
  }
}

/** Refuses any leaf hash that is not a 32-byte Uint8Array, naming the first bad index. */
export function assertLeafHashes(leafHashes: readonly Uint8Array[]): void {
  if (!Array.isArray(leafHashes))
    throw new CoreError('CORE_INVALID_ARGUMENT', 'leaf hashes must be an array');
  for (let i = 0; i < leafHashes.length; i++) {
    if (!isHash(leafHashes[i])) {
      throw new CoreError('CORE_INVALID_ARGUMENT', `leaf hash ${i} is not a ${HASH_SIZE}-byte hash`);
    }
  }
}

/** Element `i` of an array whose bounds the caller has already checked. */
export function at<T>(items: readonly T[], i: number): T {
  const item = items[i];
  if (item === undefined) throw new CoreError('CORE_INVALID_ARGUMENT', `missing element ${i}`);
  return item;
}

/** RFC 9162 §2.1.1: the largest power of two strictly smaller than n, for n >= 2. */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isOdd(n: number): boolean {
  return n % 2 === 1;
}

/** n >> 1 without 32-bit truncation. */
export function half(n: number): number {
  return Math.floor(n / 2);
}

/** Number of set bits of a safe integer. */
export function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = half(v)) if (isOdd(v)) count++;
  return count;
}

/**
 * MTH(D[start:end]) for 0 <= start < end <= leafHashes.length, by the RFC 9162 §2.1.1 split at the
 * largest power of two below the range size. The recursion depth is bounded by log2(end - start) + 1,
 * at most 54 frames for a safe-integer tree, whatever the input.
 */
export function subtreeRoot(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return at(leafHashes, start).slice();
  const k = largestPowerOfTwoBelow(n);
  return nodeHash(subtreeRoot(leafHashes, start, start + k), subtreeRoot(leafHashes, start + k, end));
}
