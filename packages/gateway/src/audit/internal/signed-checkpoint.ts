/**
 * Signed checkpoints as the read API serves them, read from the store (so every gateway node answers
 * the same, whichever node published) — not exported. The size and root are taken from the signed
 * note body (C2SP tlog-checkpoint), never from the table's convenience columns.
 *
 * Served notes carry the witness cosignatures stored for their size (audit_cosignatures, migration 013;
 * docs/audit.md "Witness"), appended after the log's two signature lines, each verified with its
 * witness's vkey before it was stored. Verifiers that do not know a witness ignore its line (C2SP
 * signed-note: signatures from unknown keys are ignored).
 */
import { parseCheckpoint } from '@fleetgate/core/note/checkpoint';
import { GatewayError } from '../../errors/gateway-error.ts';
import { type Queryable, toSafeNumber } from '../../store/store.ts';

export interface SignedCheckpoint {
  size: number;
  rootHash: Uint8Array;
  /** The C2SP signed note, byte for byte as signed. */
  note: string;
}

/** The stored cosignature lines of a checkpoint, in witness-name order ('' if none). */
const COSIGNATURES = `(SELECT string_agg(w.signature_line, '' ORDER BY w.witness) FROM audit_cosignatures w
  WHERE w.tree_size = audit_checkpoints.tree_size) AS cosignatures`;

function fromRow(row: { tree_size: string; note: string; cosignatures?: string | null }): SignedCheckpoint {
  const size = toSafeNumber(row.tree_size);
  const split = row.note.lastIndexOf('\n\n');
  let parsed: ReturnType<typeof parseCheckpoint>;
  try {
    parsed = parseCheckpoint(row.note.slice(0, split + 1));
  } catch (cause) {
    throw new GatewayError('AUDIT_LOG_INCONSISTENT', `checkpoint at size ${size} is malformed`, { cause });
  }
  if (split < 0 || parsed.size !== size) {
    throw new GatewayError('AUDIT_LOG_INCONSISTENT', `checkpoint at size ${size} is not the signed one`);
  }
  return { size, rootHash: parsed.rootHash, note: row.note + (row.cosignatures ?? '') };
}

/** The latest signed checkpoint; SERVICE_UNAVAILABLE (Retry-After 1) before the first. */
export async function latestSignedCheckpoint(db: Queryable): Promise<SignedCheckpoint> {
  const [row] = await db.query<{ tree_size: string; note: string; cosignatures: string | null }>(
    `SELECT tree_size, note, ${COSIGNATURES} FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1`,
  );
  if (row === undefined) {
    throw new GatewayError('SERVICE_UNAVAILABLE', 'no checkpoint published yet', { retryAfterSeconds: 1 });
  }
  return fromRow(row);
}

/** The signed checkpoint of exactly `size` entries, if one was published. */
export async function signedCheckpointAt(db: Queryable, size: number): Promise<SignedCheckpoint | undefined> {
  const [row] = await db.query<{ tree_size: string; note: string; cosignatures: string | null }>(
    `SELECT tree_size, note, ${COSIGNATURES} FROM audit_checkpoints WHERE tree_size = $1`,
    [String(size)],
  );
  return row === undefined ? undefined : fromRow(row);
}
