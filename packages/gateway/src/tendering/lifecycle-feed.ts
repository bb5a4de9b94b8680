/**
 * The tender lifecycle feed: every status change of every tender, in audit-index order, for the gateway's
 * outbound consumers (webhooks, EDI 990/214). It reads tender_status_history — written in the same
 * transaction as the change and its audit entry — so nothing a partner was told about can be missing from
 * the feed, and nothing in the feed was rolled back.
 *
 * Ordering: a history row carries the audit index sequenced in its transaction. The sequencer holds its
 * table lock until commit, so indices become visible in increasing order: once index N is visible, no
 * transaction can still commit an index below N. A consumer keeps a durable cursor (feed_cursors,
 * migration 010): the last audit index it has fully handled. A batch always ends on a whole audit index
 * (a new tender writes two history rows under one index), so advancing the cursor never skips half of one.
 * Delivery is at-least-once: a consumer that crashes after acting and before saving its cursor acts again
 * for that batch, and says so with stable ids (tenderId + seq) its receivers can deduplicate on.
 */
import type { Queryable, Store } from '../store/store.ts';
import type { TenderStatus } from './lifecycle.ts';
import { withOperator } from './tenant-scope.ts';

export interface LifecycleChange {
  /** Stable per change: `${tenderId}:${seq}`; receivers deduplicate on it. */
  id: string;
  tenderId: string;
  seq: number;
  tenant: string;
  partnerId: string;
  reference: string;
  from: TenderStatus | null;
  to: TenderStatus;
  event: string;
  reason: string | null;
  vehicleId: string | null;
  occurredAt: Date;
  recordedAt: Date;
  auditIndex: number;
}

interface FeedRow {
  tender_id: string;
  seq: number;
  tenant_id: string;
  partner_id: string;
  reference: string;
  from_status: string | null;
  to_status: string;
  event: string;
  reason: string | null;
  vehicle_id: string | null;
  occurred_at: Date;
  recorded_at: Date;
  audit_index: string | number;
  [key: string]: unknown;
}

/**
 * Changes with audit index above `afterIndex`, oldest first, at most about `limit` rows and always whole
 * audit indices. Cross-tenant (the operator's scope): each change names its tenant and partner, and a
 * consumer must only ever send a change to that partner.
 */
export async function readLifecycleFeed(
  store: Store,
  afterIndex: number,
  limit: number,
): Promise<LifecycleChange[]> {
  return withOperator(store, async (tx) => {
    const rows = await tx.query<FeedRow>(
      `SELECT h.tender_id, h.seq, h.tenant_id, t.partner_id, t.reference, h.from_status, h.to_status,
         h.event, h.reason, t.vehicle_id, h.occurred_at, h.recorded_at, h.audit_index
       FROM tender_status_history h JOIN tenders t ON t.id = h.tender_id
       WHERE h.audit_index > $1
       ORDER BY h.audit_index, h.tender_id, h.seq
       LIMIT $2`,
      [String(afterIndex), limit + 1],
    );
    let end = rows.length;
    if (rows.length > limit) {
      // Drop the trailing partial audit index (unless it is the only one: then take all of it).
      const last = Number(rows[rows.length - 1]?.audit_index);
      end = rows.findIndex((r) => Number(r.audit_index) === last);
      if (end === 0) {
        const whole = await tx.query<FeedRow>(
          `SELECT h.tender_id, h.seq, h.tenant_id, t.partner_id, t.reference, h.from_status, h.to_status,
             h.event, h.reason, t.vehicle_id, h.occurred_at, h.recorded_at, h.audit_index
           FROM tender_status_history h JOIN tenders t ON t.id = h.tender_id
           WHERE h.audit_index = $1 ORDER BY h.tender_id, h.seq`,
          [String(last)],
        );
        return whole.map(toChange);
      }
    }
    return rows.slice(0, end).map(toChange);
  });
}

function toChange(r: FeedRow): LifecycleChange {
  return {
    id: `${r.tender_id}:${r.seq}`,
    tenderId: r.tender_id,
    seq: Number(r.seq),
    tenant: r.tenant_id,
    partnerId: r.partner_id,
    reference: r.reference,
    from: r.from_status as TenderStatus | null,
    to: r.to_status as TenderStatus,
    event: r.event,
    reason: r.reason,
    vehicleId: r.vehicle_id,
    occurredAt: new Date(r.occurred_at),
    recordedAt: new Date(r.recorded_at),
    auditIndex: Number(r.audit_index),
  };
}

/** A consumer's cursor: the last audit index it has fully handled, -1 when it has handled nothing. */
export async function readCursor(q: Queryable, consumer: string): Promise<number> {
  const [row] = await q.query<{ audit_index: string | number }>(
    'SELECT audit_index FROM feed_cursors WHERE consumer = $1',
    [consumer],
  );
  return row === undefined ? -1 : Number(row.audit_index);
}

/** Saves a consumer's cursor; it only moves forward (a stale writer cannot rewind it). */
export async function saveCursor(
  q: Queryable,
  consumer: string,
  auditIndex: number,
  now: Date,
): Promise<void> {
  await q.query(
    `INSERT INTO feed_cursors (consumer, audit_index, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (consumer) DO UPDATE SET audit_index = GREATEST(feed_cursors.audit_index, EXCLUDED.audit_index),
       updated_at = EXCLUDED.updated_at`,
    [consumer, String(auditIndex), now],
  );
}
