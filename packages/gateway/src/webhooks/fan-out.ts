/**
 * Fan-out: tender lifecycle changes (tendering/lifecycle-feed.ts) → one pending delivery per matching
 * active endpoint of THAT change's partner, never another partner's. The deliveries and the advanced feed
 * cursor (feed_cursors, consumer `webhooks`) commit in one transaction: a crash before the commit means the
 * batch is read again, a crash after it loses nothing (at-least-once; UNIQUE (endpoint, message) keeps a
 * re-read batch from doubling deliveries). The cursor row is locked for the transaction, so of several
 * gateway nodes one fans a batch out and the others find the cursor moved and read on from there.
 * An endpoint only receives changes recorded after it was created.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable, Store } from '../store/store.ts';
import {
  type LifecycleChange,
  readCursor,
  readLifecycleFeed,
  saveCursor,
} from '../tendering/lifecycle-feed.ts';
import { withOperator } from '../tendering/tenant-scope.ts';
import { eventTypeOf, payloadOf } from './event.ts';

export const FEED_CONSUMER = 'webhooks';
const BATCH = 200;

interface EndpointRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  event_types: string[] | null;
  created_at: Date;
  [key: string]: unknown;
}

/** Fans out one batch of changes; returns how many changes it consumed (0: nothing new, or another node did). */
export async function fanOutBatch(store: Store, now: () => Date): Promise<number> {
  const cursor = await withOperator(store, (tx) => readCursor(tx, FEED_CONSUMER));
  const changes = await readLifecycleFeed(store, cursor, BATCH);
  const last = changes[changes.length - 1];
  if (last === undefined) return 0;
  return withOperator(store, async (tx) => {
    const at = now();
    await tx.query(
      `INSERT INTO feed_cursors (consumer, audit_index, updated_at) VALUES ($1, -1, $2)
       ON CONFLICT (consumer) DO NOTHING`,
      [FEED_CONSUMER, at],
    );
    const [locked] = await tx.query<{ audit_index: string | number }>(
      'SELECT audit_index FROM feed_cursors WHERE consumer = $1 FOR UPDATE',
      [FEED_CONSUMER],
    );
    if (locked === undefined || Number(locked.audit_index) !== cursor) return 0; // another node moved it
    const partners = [...new Set(changes.map((c) => c.partnerId))];
    const endpoints = await tx.query<EndpointRow>(
      `SELECT id, tenant_id, partner_id, event_types, created_at FROM webhook_endpoints
       WHERE status = 'active' AND partner_id = ANY($1::text[])`,
      [partners],
    );
    for (const change of changes) await fanOutChange(tx, change, endpoints, at);
    await saveCursor(tx, FEED_CONSUMER, last.auditIndex, at);
    return changes.length;
  });
}

async function fanOutChange(
  tx: Queryable,
  change: LifecycleChange,
  endpoints: readonly EndpointRow[],
  at: Date,
): Promise<void> {
  const type = eventTypeOf(change);
  if (type === null) return;
  const payload = JSON.stringify(payloadOf(change, type));
  for (const endpoint of endpoints) {
    // The change's own partner and tenant only; its event types; created before the change.
    if (endpoint.partner_id !== change.partnerId || endpoint.tenant_id !== change.tenant) continue;
    if (endpoint.event_types !== null && !endpoint.event_types.includes(type)) continue;
    if (new Date(endpoint.created_at).getTime() > change.recordedAt.getTime()) continue;
    await tx.query(
      `INSERT INTO webhook_deliveries (id, tenant_id, partner_id, endpoint_id, message_id, event_type, payload,
         status, next_attempt_at, audit_index, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $8, $8)
       ON CONFLICT (endpoint_id, message_id) DO NOTHING`,
      [
        `whd_${randomUUID()}`,
        change.tenant,
        change.partnerId,
        endpoint.id,
        change.id,
        type,
        payload,
        at,
        String(change.auditIndex),
      ],
    );
  }
}
