/**
 * A partner's webhook deliveries: the list (GET /v1/webhooks/deliveries, `status=dead` is the
 * dead-letter list) and redelivery (POST /v1/webhooks/deliveries/{id}/redeliver). Tenant-scoped by
 * row-level security and filtered on the partner: another partner's delivery is answered exactly like a
 * missing one (WEBHOOK_DELIVERY_NOT_FOUND). A redelivery starts a new attempt series now, with the same
 * webhook-id and payload bytes (receivers deduplicate on the id), and is audited.
 */
import { GatewayError } from '../errors/gateway-error.ts';
import { withTenant } from '../tendering/tenant-scope.ts';
import type { WebhookDeps, WebhookPartner } from './endpoints.ts';

export const DELIVERY_ID_PATTERN = '^whd_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface AttemptView {
  n: number;
  series: number;
  attemptedAt: string;
  durationMs: number;
  statusCode: number | null;
  errorCode: string | null;
}

export interface DeliveryView {
  id: string;
  endpointId: string;
  /** The webhook-id header and payload id: the lifecycle change id `${tenderId}:${seq}`. */
  messageId: string;
  eventType: string;
  status: DeliveryStatus;
  /** Attempts in the current series, and over every series. */
  attempts: number;
  totalAttempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  auditIndex: number;
  createdAt: string;
  updatedAt: string;
  /** The most recent attempts, newest first (at most 10). */
  recentAttempts: AttemptView[];
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  message_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  total_attempts: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  audit_index: string | number;
  created_at: Date;
  updated_at: Date;
  [key: string]: unknown;
}

interface AttemptRow {
  delivery_id: string;
  n: number;
  series: number;
  attempted_at: Date;
  duration_ms: number;
  status_code: number | null;
  error_code: string | null;
  [key: string]: unknown;
}

const iso = (d: Date) => new Date(d).toISOString();

function toView(r: DeliveryRow, attempts: readonly AttemptRow[]): DeliveryView {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    messageId: r.message_id,
    eventType: r.event_type,
    status: r.status,
    attempts: Number(r.attempts),
    totalAttempts: Number(r.total_attempts),
    nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
    lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code),
    lastError: r.last_error,
    auditIndex: Number(r.audit_index),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    recentAttempts: attempts
      .filter((a) => a.delivery_id === r.id)
      .slice(0, 10)
      .map((a) => ({
        n: Number(a.n),
        series: Number(a.series),
        attemptedAt: iso(a.attempted_at),
        durationMs: Number(a.duration_ms),
        statusCode: a.status_code === null ? null : Number(a.status_code),
        errorCode: a.error_code,
      })),
  };
}

/** Keyset cursor over (created_at, id), newest first: "<epoch ms>.<delivery id>". */
const CURSOR = /^([0-9]{1,15})\.(whd_[0-9a-f-]{36})$/;

export interface DeliveryQuery {
  status?: DeliveryStatus;
  endpointId?: string;
  cursor?: string;
  limit?: number;
}

export async function listDeliveries(
  deps: Pick<WebhookDeps, 'store'>,
  partner: WebhookPartner,
  query: DeliveryQuery,
): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 100);
  let after: [Date, string] | null = null;
  if (query.cursor !== undefined) {
    const m = CURSOR.exec(query.cursor);
    if (m === null) throw new GatewayError('REQUEST_INVALID', 'cursor is not one the gateway issued');
    after = [new Date(Number(m[1])), m[2] as string];
  }
  return withTenant(deps.store, partner.tenant, async (tx) => {
    const rows = await tx.query<DeliveryRow>(
      `SELECT * FROM webhook_deliveries
       WHERE partner_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR endpoint_id = $3)
         AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::text))
       ORDER BY created_at DESC, id DESC LIMIT $6`,
      [
        partner.id,
        query.status ?? null,
        query.endpointId ?? null,
        after?.[0] ?? null,
        after?.[1] ?? null,
        limit + 1,
      ],
    );
    const page = rows.slice(0, limit);
    const attempts =
      page.length === 0
        ? []
        : await tx.query<AttemptRow>(
            `SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::text[]) ORDER BY delivery_id, n DESC`,
            [page.map((r) => r.id)],
          );
    const last = page[page.length - 1];
    return {
      items: page.map((r) => toView(r, attempts)),
      nextCursor:
        rows.length > limit && last !== undefined
          ? `${new Date(last.created_at).getTime()}.${last.id}`
          : null,
    };
  });
}

export async function redeliver(
  deps: Pick<WebhookDeps, 'store' | 'audit' | 'now'>,
  partner: WebhookPartner,
  id: string,
): Promise<DeliveryView> {
  const now = deps.now();
  return withTenant(deps.store, partner.tenant, async (tx) => {
    const [row] = await tx.query<DeliveryRow>(
      `SELECT d.* FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
       WHERE d.id = $1 AND d.partner_id = $2 AND e.status = 'active' FOR UPDATE OF d`,
      [id, partner.id],
    );
    if (row === undefined || row.status === 'cancelled') throw new GatewayError('WEBHOOK_DELIVERY_NOT_FOUND');
    if (row.status === 'pending') throw new GatewayError('WEBHOOK_DELIVERY_IN_PROGRESS');
    const [updated] = await tx.query<DeliveryRow>(
      `UPDATE webhook_deliveries SET status = 'pending', series = series + 1, attempts = 0,
         next_attempt_at = $2, lease_until = NULL, updated_at = $2
       WHERE id = $1 RETURNING *`,
      [id, now],
    );
    await deps.audit.appendInTx(tx, {
      class: 'webhook.delivery.redelivered',
      actor: { kind: 'partner', id: partner.id, certSha256: partner.certSha256 },
      subject: { kind: 'webhook-delivery', id },
      outcome: 'recorded',
      details: {
        tenant: partner.tenant,
        endpointId: row.endpoint_id,
        messageId: row.message_id,
        previousStatus: row.status,
      },
    });
    return toView(updated as DeliveryRow, []);
  });
}
