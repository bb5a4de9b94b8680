/**
 * MerkleFrontier (compact range): root() equals the RFC 9162 MTH on every prefix, hashes()/restore()
 * resume exactly, state is never shared outward, and restore() refuses malformed state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.ts';
import { MerkleFrontier } from '../src/merkle/frontier.ts';
import { rootFromLeafHashes } from '../src/merkle/root.ts';
import { hash, leaves } from './helpers/merkle.ts';
import { coreErrorCode } from './helpers/vectors.ts';

describe('MerkleFrontier (compact range)', () => {
  it('root() equals rootFromLeafHashes for every prefix, and restore() resumes exactly', () => {
    fc.assert(
      fc.property(leaves(130), fc.nat(), (tree, cut) => {
        const frontier = new MerkleFrontier();
        tree.forEach((h, i) => {
          frontier.append(h);
          expect(frontier.size).toBe(i + 1);
          expect(toHex(frontier.root())).toBe(toHex(rootFromLeafHashes(tree.slice(0, i + 1))));
        });
        // Persist at an arbitrary point, reload, append the rest: same root as never stopping.
        const at = cut % (tree.length + 1);
        const partial = new MerkleFrontier();
        for (const h of tree.slice(0, at)) partial.append(h);
        const hashes = partial.hashes();
        expect(hashes.length).toBe([...at.toString(2)].filter((c) => c === '1').length);
        const resumed = MerkleFrontier.restore(at, hashes);
        for (const h of tree.slice(at)) resumed.append(h);
        expect(resumed.size).toBe(tree.length);
        expect(toHex(resumed.root())).toBe(toHex(frontier.root()));
      }),
      { numRuns: 100 },
    );
  });

  it('hands out copies: mutating returned arrays does not change its state', () => {
    const frontier = new MerkleFrontier();
    frontier.append(hash(1));
    const before = toHex(frontier.root());
    frontier.root().fill(0);
    for (const h of frontier.hashes()) h.fill(0);
    expect(toHex(frontier.root())).toBe(before);
  });

  it('restore() refuses a hash count other than popcount(size), bad hashes and bad sizes', () => {
    expect(coreErrorCode(() => MerkleFrontier.restore(3, [hash(1)]))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => MerkleFrontier.restore(4, [hash(1), hash(2)]))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => MerkleFrontier.restore(0, [hash(1)]))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => MerkleFrontier.restore(1, [new Uint8Array(31)]))).toBe(
      'CORE_INVALID_ARGUMENT',
    );
    expect(coreErrorCode(() => MerkleFrontier.restore(-1, []))).toBe('CORE_MERKLE_INVALID_RANGE');
    expect(coreErrorCode(() => MerkleFrontier.restore(2 ** 53, []))).toBe('CORE_MERKLE_INVALID_RANGE');
    expect(MerkleFrontier.restore(0, []).size).toBe(0);
    const big = MerkleFrontier.restore(2 ** 40 + 1, [hash(1), hash(2)]);
    big.append(hash(3));
    expect(big.size).toBe(2 ** 40 + 2);
    expect(big.hashes().length).toBe(2);
  });

  it('append() refuses anything but a 32-byte hash', () => {
    const frontier = new MerkleFrontier();
    expect(coreErrorCode(() => frontier.append(new Uint8Array(31)))).toBe('CORE_INVALID_ARGUMENT');
    expect(frontier.size).toBe(0);
  });
});
