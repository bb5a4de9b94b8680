/**
 * Receipts (issue 7 "Receipts"; docs/audit.md "Receipts"): for the audit index a tender or telemetry
 * response returned, the entry, its inclusion proof and the signed checkpoint it is relative to — all
 * a partner needs to prove, offline and to anyone holding the log's two verifier keys, that the
 * decision was logged (verify-receipt.ts is that check).
 *
 * An index not yet covered by a checkpoint is AUDIT_ENTRY_NOT_SEALED with Retry-After: the publisher
 * seals it within one checkpoint interval.
 */
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Queryable } from '../../store/store.ts';
import { latestSignedCheckpoint } from '../internal/signed-checkpoint.ts';
import { parseRedactionStub } from '../redaction-format.ts';
import { entryRange } from './entries.ts';
import { proveInclusion } from './inclusion-proof.ts';
import type { TileCache } from './tile-cache.ts';

export interface AuditReceiptDocument {
  /** The log's origin (checkpoint first line). */
  origin: string;
  index: number;
  treeSize: number;
  /** The canonical JSON entry exactly as hashed: SHA-256(0x00 || entry) is the leaf hash. */
  entry: string;
  leafHash: Uint8Array;
  proof: Uint8Array[];
  /** The signed checkpoint (C2SP signed note, Ed25519 + ML-DSA-65) of treeSize entries. */
  checkpoint: string;
}

export async function readReceipt(
  db: Queryable,
  cache: TileCache,
  origin: string,
  index: number,
  retryAfterSeconds: number,
): Promise<AuditReceiptDocument> {
  // Before the first checkpoint, every entry is simply not sealed yet.
  const latest = await latestSignedCheckpoint(db).catch((error: unknown) => {
    if (error instanceof GatewayError && error.code === 'SERVICE_UNAVAILABLE') return { size: 0 };
    throw error;
  });
  if (index >= latest.size) {
    throw new GatewayError('AUDIT_ENTRY_NOT_SEALED', `index ${index} is not below ${latest.size} yet`, {
      retryAfterSeconds,
    });
  }
  const proof = await proveInclusion(db, cache, { index, size: latest.size });
  const [entry] = await entryRange(db, index, index + 1);
  if (
    entry === undefined ||
    proof.checkpoint === undefined ||
    // A redacted entry's stub names the leaf hash it replaced (redaction-format.ts).
    (parseRedactionStub(entry)?.leafHash ?? toHex(leafHash(utf8(entry)))) !== toHex(proof.leafHash)
  ) {
    throw new GatewayError('AUDIT_LOG_INCONSISTENT', `entry ${index} cannot be read`);
  }
  return {
    origin,
    index,
    treeSize: proof.treeSize,
    entry,
    leafHash: proof.leafHash,
    proof: proof.proof,
    checkpoint: proof.checkpoint,
  };
}
