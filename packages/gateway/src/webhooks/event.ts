/**
 * Webhook event types and the payload of each (docs/tendering.md "Webhooks"), built from one tender
 * lifecycle change (tendering/lifecycle-feed.ts). The payload is the Standard Webhooks shape
 * `{ id, type, timestamp, data }`; `id` is the change id `${tenderId}:${seq}`, also sent as the
 * `webhook-id` header, stable across retries and redeliveries so receivers can deduplicate on it.
 * The serialised bytes are stored with the delivery and sent unchanged on every attempt.
 */
import type { LifecycleChange } from '../tendering/lifecycle-feed.ts';

export const WEBHOOK_EVENT_TYPES = [
  'tender.accepted',
  'tender.declined',
  'tender.pending_review',
  'tender.cancelled',
  'tender.status_changed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The event type of a change, or null for `received` (the partner's own POST, answered synchronously). */
export function eventTypeOf(change: Pick<LifecycleChange, 'to'>): WebhookEventType | null {
  switch (change.to) {
    case 'received':
      return null;
    case 'accepted':
      return 'tender.accepted';
    case 'declined':
      return 'tender.declined';
    case 'pending_review':
      return 'tender.pending_review';
    case 'cancelled':
      return 'tender.cancelled';
    default:
      return 'tender.status_changed';
  }
}

export interface WebhookPayload {
  id: string;
  type: WebhookEventType;
  /** When the change was recorded (ISO 8601). */
  timestamp: string;
  data: {
    tenderId: string;
    reference: string;
    from: string | null;
    to: string;
    event: string;
    reason: string | null;
    vehicleId: string | null;
    /** When it happened on the fleet side (or when decided). */
    occurredAt: string;
    /** The audit log index of the change: its receipt (GET /v1/audit/receipts/{index} on the public listener). */
    auditIndex: number;
  };
}

export function payloadOf(change: LifecycleChange, type: WebhookEventType): WebhookPayload {
  return {
    id: change.id,
    type,
    timestamp: change.recordedAt.toISOString(),
    data: {
      tenderId: change.tenderId,
      reference: change.reference,
      from: change.from,
      to: change.to,
      event: change.event,
      reason: change.reason,
      vehicleId: change.vehicleId,
      occurredAt: change.occurredAt.toISOString(),
      auditIndex: change.auditIndex,
    },
  };
}
