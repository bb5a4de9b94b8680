/**
 * Every stored signed checkpoint, by size, for the read API (GET /v1/audit/checkpoints?from=&limit=;
 * docs/audit.md "Read API"): what `fleetgate audit verify --from URL` checks one by one — both
 * signatures on each, and each root recomputed from the entries (so consecutive checkpoints are
 * consistent). Notes are served byte for byte as signed; the reader verifies them, not us.
 *
 * Threat: unbounded reads — a page holds at most MAX_LIMIT notes (an ML-DSA-65 note is about 4.5 KB).
 */
import { GatewayError } from '../../errors/gateway-error.ts';
import { type Queryable, toSafeNumber } from '../../store/store.ts';

export const MAX_CHECKPOINTS_PER_PAGE = 100;

export interface CheckpointPage {
  checkpoints: { size: number; note: string }[];
  /** The `from` of the next page, or null after the last checkpoint. */
  next: number | null;
}

export async function listCheckpoints(db: Queryable, from: number, limit: number): Promise<CheckpointPage> {
  if (limit < 1 || limit > MAX_CHECKPOINTS_PER_PAGE) {
    throw new GatewayError('REQUEST_INVALID', `limit must be 1..${MAX_CHECKPOINTS_PER_PAGE}`);
  }
  const rows = await db.query<{ tree_size: string; note: string }>(
    'SELECT tree_size, note FROM audit_checkpoints WHERE tree_size >= $1 ORDER BY tree_size LIMIT $2',
    [String(from), limit + 1],
  );
  const page = rows.slice(0, limit).map((r) => ({ size: toSafeNumber(r.tree_size), note: r.note }));
  const more = rows[limit];
  return { checkpoints: page, next: more === undefined ? null : toSafeNumber(more.tree_size) };
}
