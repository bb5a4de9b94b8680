/**
 * Inclusion proofs for the read API (RFC 9162 §2.1.3; docs/audit.md "Read API"): by index or by leaf
 * hash, for a tree size up to the latest signed checkpoint (default: that checkpoint).
 *
 * Threats: a request past the tree or for an index not below the size — refused with a coded 400,
 * never answered with a proof for another tree; a store that no longer matches its signed checkpoints
 * — every proof is verified against the signed root before it leaves (AUDIT_LOG_INCONSISTENT otherwise),
 * so the gateway never hands out a proof its own checkpoint refutes.
 */
import { verifyInclusion } from '@fleetgate/core/merkle/inclusion';
import { GatewayError } from '../../errors/gateway-error.ts';
import { type Queryable, toSafeNumber } from '../../store/store.ts';
import { inclusionRanges, type Range } from '../internal/proof-paths.ts';
import { latestSignedCheckpoint, signedCheckpointAt } from '../internal/signed-checkpoint.ts';
import { TileReader } from '../internal/tiles.ts';
import type { TileCache } from './tile-cache.ts';

export type InclusionRequest = { size?: number } & ({ index: number } | { leafHash: Uint8Array });

export interface InclusionProof {
  index: number;
  treeSize: number;
  leafHash: Uint8Array;
  /** Sibling hashes from the leaf up. */
  proof: Uint8Array[];
  rootHash: Uint8Array;
  /** The signed checkpoint of `treeSize` entries, when one was published (always for the default size). */
  checkpoint?: string;
}

export async function proveInclusion(
  db: Queryable,
  cache: TileCache,
  request: InclusionRequest,
): Promise<InclusionProof> {
  const latest = await latestSignedCheckpoint(db);
  const size = request.size ?? latest.size;
  if (size > latest.size) {
    throw new GatewayError(
      'AUDIT_SIZE_PAST_TREE',
      `size ${size} is past the latest checkpoint (${latest.size})`,
    );
  }
  let index: number;
  if ('leafHash' in request) {
    const [row] = await db.query<{ idx: string }>(
      'SELECT idx FROM audit_entries WHERE leaf_hash = $1 AND idx < $2 ORDER BY idx LIMIT 1',
      [request.leafHash, String(size)],
    );
    if (row === undefined)
      throw new GatewayError('AUDIT_LEAF_NOT_FOUND', `no entry below size ${size} has this hash`);
    index = toSafeNumber(row.idx);
  } else {
    index = request.index;
  }
  if (index >= size) {
    throw new GatewayError('AUDIT_INDEX_PAST_SIZE', `index ${index} is not below size ${size}`);
  }
  const tiles = new TileReader(db, latest.size, cache);
  const signed = size === latest.size ? latest : await signedCheckpointAt(db, size);
  // The leaf, its path and (for a size never signed) the root: every tile they need in one fetch.
  const ranges: Range[] = [[index, index + 1], ...inclusionRanges(index, size)];
  if (signed === undefined) ranges.push([0, size]);
  const hashes = await tiles.ranges(ranges);
  const leafHash = hashes[0] as Uint8Array;
  const proof = hashes.slice(1, ranges.length - (signed === undefined ? 1 : 0));
  const rootHash = signed?.rootHash ?? (hashes.at(-1) as Uint8Array);
  if (!verifyInclusion({ index, size, leafHash, proof, root: rootHash })) {
    throw new GatewayError('AUDIT_LOG_INCONSISTENT', `entries no longer produce the root of size ${size}`);
  }
  return {
    index,
    treeSize: size,
    leafHash,
    proof,
    rootHash,
    ...(signed === undefined ? {} : { checkpoint: signed.note }),
  };
}
