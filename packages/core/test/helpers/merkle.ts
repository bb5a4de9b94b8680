/** Shared generators for the Merkle property tests. */
import fc from 'fast-check';
import { leafHash } from '../../src/merkle/hash.ts';

/** A tree of 1..max leaves; leaf data may repeat, as real logs' can. */
export const leaves = (max: number): fc.Arbitrary<Uint8Array[]> =>
  fc
    .array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: max })
    .map((data) => data.map(leafHash));

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const i = Math.floor(bit / 8) % out.length;
  out[i] = (out[i] ?? 0) ^ (1 << (bit % 8));
  return out;
}

export function hash(n: number): Uint8Array {
  return leafHash(new Uint8Array([n & 0xff, (n >> 8) & 0xff]));
}
