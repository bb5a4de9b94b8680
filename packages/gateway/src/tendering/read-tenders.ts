/**
 * Reading tenders (issue 6; docs/api.md): one by id and a page of the tenant's own tenders for partners
 * (GET /v1/tenders/{id}, GET /v1/tenders?status=&cursor=), and the human review queue across tenants for
 * operators (GET /v1/review/tenders). Partner reads run under withTenant: another tenant's tender is
 * absent (404 TENDER_NOT_FOUND, indistinguishable from a missing id — OWASP API1) because row-level
 * security never returns it, and the query's own partner filter is a second, independent check.
 * Pages are keyset pages over the time-ordered id (newest first); the cursor is the last id seen,
 * opaque to clients, and anything else is refused (400 TENDER_CURSOR_INVALID).
 */
import { GatewayError } from '../errors/gateway-error.ts';
import type { Store } from '../store/store.ts';
import { TENDER_COLUMNS, type TenderRow, type TenderView, toView } from './internal/record.ts';
import type { TenderStatus } from './lifecycle.ts';
import { withOperator, withTenant } from './tenant-scope.ts';

export const TENDER_ID_PATTERN = '^tnd_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const CURSOR = /^c1\.(tnd_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export const DEFAULT_PAGE_SIZE = 50;

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface ReviewItem extends TenderView {
  tenantId: string;
  partnerId: string;
}

type Row = TenderRow & Record<string, unknown>;

function afterId(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const match = CURSOR.exec(cursor);
  if (match === null) throw new GatewayError('TENDER_CURSOR_INVALID');
  return match[1] ?? null;
}

function page<T>(rows: Row[], limit: number, map: (row: Row) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), nextCursor: rows.length > limit && last ? `c1.${last.id}` : null };
}

export interface TenderReader {
  store: Store;
  origin: string;
}

export async function getTender(
  reader: TenderReader,
  partner: { id: string; tenant: string },
  id: string,
): Promise<TenderView> {
  const [row] = await withTenant(reader.store, partner.tenant, (tx) =>
    tx.query<Row>(`SELECT ${TENDER_COLUMNS} FROM tenders WHERE id = $1 AND partner_id = $2`, [
      id,
      partner.id,
    ]),
  );
  if (row === undefined) throw new GatewayError('TENDER_NOT_FOUND');
  return toView(row, reader.origin);
}

export async function listTenders(
  reader: TenderReader,
  partner: { id: string; tenant: string },
  query: { status?: TenderStatus; cursor?: string; limit?: number },
): Promise<Page<TenderView>> {
  const after = afterId(query.cursor);
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const rows = await withTenant(reader.store, partner.tenant, (tx) =>
    tx.query<Row>(
      `SELECT ${TENDER_COLUMNS} FROM tenders
       WHERE partner_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [partner.id, query.status ?? null, after, limit + 1],
    ),
  );
  return page(rows, limit, (row) => toView(row, reader.origin));
}

/** The human review queue: every tenant's tenders in pending_review, oldest first (operators only). */
export async function listReviewQueue(
  reader: TenderReader,
  query: { cursor?: string; limit?: number },
): Promise<Page<ReviewItem>> {
  const after = afterId(query.cursor);
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const rows = await withOperator(reader.store, (tx) =>
    tx.query<Row>(
      `SELECT ${TENDER_COLUMNS} FROM tenders
       WHERE status = 'pending_review' AND ($1::text IS NULL OR id > $1)
       ORDER BY id ASC LIMIT $2`,
      [after, limit + 1],
    ),
  );
  return page(rows, limit, (row) => ({
    ...toView(row, reader.origin),
    tenantId: row.tenant_id,
    partnerId: row.partner_id,
  }));
}
