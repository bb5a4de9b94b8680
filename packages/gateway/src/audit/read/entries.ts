/**
 * Entries by index range for the read API (docs/audit.md "Read API"): the canonical JSON entries
 * exactly as hashed into the log, one per line, for [start, end) within the latest signed checkpoint,
 * at most `maxPage` at once; and C2SP tlog-tiles entry bundles (big-endian uint16 length || entry).
 *
 * Threats: unbounded reads (a page is bounded; a wider range is a coded 400), reading unsealed entries
 * (nothing past the latest checkpoint is served: a reader can check every line against a signed root).
 */
import { GatewayError } from '../../errors/gateway-error.ts';
import { type Queryable, toSafeNumber } from '../../store/store.ts';
import { latestSignedCheckpoint } from '../internal/signed-checkpoint.ts';

export interface EntriesPage {
  start: number;
  /** Exclusive. */
  end: number;
  treeSize: number;
  entries: string[];
}

export async function readEntries(
  db: Queryable,
  request: { start: number; end?: number },
  maxPage: number,
): Promise<EntriesPage> {
  const latest = await latestSignedCheckpoint(db);
  const { start } = request;
  const end = request.end ?? Math.min(start + maxPage, latest.size);
  if (start > end) throw new GatewayError('REQUEST_INVALID', `start ${start} exceeds end ${end}`);
  if (end > latest.size) {
    throw new GatewayError(
      'AUDIT_SIZE_PAST_TREE',
      `end ${end} is past the latest checkpoint (${latest.size})`,
    );
  }
  if (end - start > maxPage) throw new GatewayError('REQUEST_INVALID', `at most ${maxPage} entries per page`);
  return { start, end, treeSize: latest.size, entries: await entryRange(db, start, end) };
}

/** Entries [start, end), checked dense. */
export async function entryRange(db: Queryable, start: number, end: number): Promise<string[]> {
  if (end <= start) return [];
  const rows = await db.query<{ idx: string; entry: string }>(
    'SELECT idx, entry FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
    [String(start), String(end)],
  );
  if (rows.length !== end - start || rows.some((r, i) => toSafeNumber(r.idx) !== start + i)) {
    throw new GatewayError('AUDIT_LOG_INCONSISTENT', `entries ${start}..${end - 1} are not dense`);
  }
  return rows.map((r) => r.entry);
}

/** A tlog-tiles entry bundle: each entry as big-endian uint16 length || UTF-8 bytes. */
export function entryBundle(entries: readonly string[]): Uint8Array {
  const parts = entries.map((e) => Buffer.from(e, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 2 + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    if (p.byteLength > 0xffff) throw new GatewayError('AUDIT_LOG_INCONSISTENT', 'entry exceeds 65535 bytes');
    out.writeUInt16BE(p.byteLength, at);
    p.copy(out, at + 2);
    at += 2 + p.byteLength;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
