/**
 * Consistency proofs for the read API (RFC 9162 §2.1.4; docs/audit.md "Read API"): the tree of size1
 * is a prefix of the tree of size2, 0 < size1 <= size2 <= the latest signed checkpoint (size2 defaults
 * to it). This is what a replica, a witness or the offline verifier asks before trusting a newer
 * checkpoint.
 *
 * Threats: reversed sizes or a size past the tree — coded 400 (AUDIT_SIZES_REVERSED,
 * AUDIT_SIZE_PAST_TREE), never a proof for other sizes; a store that no longer matches its signed
 * checkpoints — the proof is verified against both roots (signed ones where published) before it
 * leaves, AUDIT_LOG_INCONSISTENT otherwise.
 */
import { verifyConsistency } from '@fleetgate/core/merkle/consistency';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Queryable } from '../../store/store.ts';
import { consistencyRanges } from '../internal/proof-paths.ts';
import { latestSignedCheckpoint, signedCheckpointAt } from '../internal/signed-checkpoint.ts';
import { TileReader } from '../internal/tiles.ts';
import type { TileCache } from './tile-cache.ts';

export interface ConsistencyProof {
  size1: number;
  size2: number;
  proof: Uint8Array[];
  root1: Uint8Array;
  root2: Uint8Array;
  /** Signed checkpoints of size1 and size2 entries, where published. */
  checkpoint1?: string;
  checkpoint2?: string;
}

export async function proveConsistency(
  db: Queryable,
  cache: TileCache,
  request: { size1: number; size2?: number },
): Promise<ConsistencyProof> {
  const latest = await latestSignedCheckpoint(db);
  const size1 = request.size1;
  const size2 = request.size2 ?? latest.size;
  if (size1 > size2) throw new GatewayError('AUDIT_SIZES_REVERSED', `size1 ${size1} exceeds size2 ${size2}`);
  if (size1 === 0) throw new GatewayError('AUDIT_SIZES_REVERSED', 'no consistency proof from the empty tree');
  if (size2 > latest.size) {
    throw new GatewayError(
      'AUDIT_SIZE_PAST_TREE',
      `size ${size2} is past the latest checkpoint (${latest.size})`,
    );
  }
  const tiles = new TileReader(db, latest.size, cache);
  const [signed1, signed2] = await Promise.all([
    signedCheckpointAt(db, size1),
    size2 === latest.size ? latest : signedCheckpointAt(db, size2),
  ]);
  // The proof and the roots of sizes never signed: every tile they need in one fetch.
  const path = consistencyRanges(size1, size2);
  const hashes = await tiles.ranges([
    ...path,
    ...(signed1 === undefined ? [[0, size1] as const] : []),
    ...(signed2 === undefined ? [[0, size2] as const] : []),
  ]);
  const proof = hashes.slice(0, path.length);
  const root1 = signed1?.rootHash ?? (hashes[path.length] as Uint8Array);
  const root2 = signed2?.rootHash ?? (hashes.at(-1) as Uint8Array);
  if (!verifyConsistency({ size1, size2, root1, root2, proof })) {
    throw new GatewayError(
      'AUDIT_LOG_INCONSISTENT',
      `no consistent history between sizes ${size1} and ${size2}`,
    );
  }
  return {
    size1,
    size2,
    proof,
    root1,
    root2,
    ...(signed1 === undefined ? {} : { checkpoint1: signed1.note }),
    ...(signed2 === undefined ? {} : { checkpoint2: signed2.note }),
  };
}
