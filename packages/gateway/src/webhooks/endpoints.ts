/**
 * A partner's webhook endpoints (POST/GET/DELETE /v1/webhooks/endpoints, POST …/{id}/rotate-secret;
 * docs/tendering.md "Webhooks"). Every operation runs under the partner's tenant (row-level security,
 * tendering/tenant-scope.ts) and filters on the partner too: another partner's endpoint is answered
 * exactly like a missing one (WEBHOOK_ENDPOINT_NOT_FOUND, OWASP API1).
 *
 * The URL must pass target-url.ts (https, no userinfo, no fragment) and lie inside the partner's
 * allow-list; a refusal of the allow-list is audited (webhook.target.refused). The signing secret is
 * returned once, by create and rotate, and stored only sealed. Audit entries name the URL by origin and
 * SHA-256 (a query string may carry a partner's own token), never the secret.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/log.ts';
import type { PartnerConfig, WebhooksConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Store } from '../store/store.ts';
import type { KeyWrappingKey } from '../telemetry/device-keys/kek.ts';
import { withTenant } from '../tendering/tenant-scope.ts';
import type { WebhookEventType } from './event.ts';
import { sealSecret } from './internal/secret-box.ts';
import { generateWebhookSecret } from './secret.ts';
import { isAllowed, parseEndpointUrl } from './target-url.ts';

export interface WebhookDeps {
  store: Store;
  audit: AuditLog;
  now: () => Date;
  kek: KeyWrappingKey;
  config: { webhooks: WebhooksConfig; partners: readonly PartnerConfig[] };
}

export interface WebhookPartner {
  id: string;
  tenant: string;
  certSha256: string;
}

export interface EndpointView {
  id: string;
  url: string;
  /** null: every event type. */
  eventTypes: WebhookEventType[] | null;
  createdAt: string;
  /** Until when the previous secret still signs alongside the current one (after a rotation). */
  previousSecretExpiresAt: string | null;
}

interface EndpointRow {
  id: string;
  url: string;
  event_types: string[] | null;
  created_at: Date;
  secret_generation: number;
  secret_sealed: string;
  previous_secret_expires_at: Date | null;
  [key: string]: unknown;
}

export const ENDPOINT_ID_PATTERN = '^whe_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const toView = (r: EndpointRow): EndpointView => ({
  id: r.id,
  url: r.url,
  eventTypes: r.event_types === null ? null : (r.event_types as WebhookEventType[]),
  createdAt: new Date(r.created_at).toISOString(),
  previousSecretExpiresAt:
    r.previous_secret_expires_at === null ? null : new Date(r.previous_secret_expires_at).toISOString(),
});

/** How an endpoint URL appears in audit entries: its origin and digest, never its query. */
export function urlEvidence(url: string): { origin: string; urlSha256: string } {
  let origin = 'invalid';
  try {
    origin = new URL(url).origin;
  } catch {
    // keep 'invalid'
  }
  return { origin, urlSha256: createHash('sha256').update(url).digest('hex') };
}

const actorOf = (p: WebhookPartner) => ({ kind: 'partner' as const, id: p.id, certSha256: p.certSha256 });

export async function createEndpoint(
  deps: WebhookDeps,
  partner: WebhookPartner,
  body: { url: string; eventTypes?: WebhookEventType[] },
): Promise<{ endpoint: EndpointView; secret: string }> {
  const url = parseEndpointUrl(body.url);
  if (typeof url === 'string') throw new GatewayError('WEBHOOK_URL_INVALID', url);
  const allowed = deps.config.partners.find((p) => p.id === partner.id)?.webhooks?.allowedUrls ?? [];
  if (!isAllowed(url, allowed)) {
    await deps.audit.append({
      class: 'webhook.target.refused',
      actor: actorOf(partner),
      subject: { kind: 'webhook-endpoint', id: 'new' },
      outcome: 'rejected',
      reasons: ['WEBHOOK_URL_NOT_ALLOWED'],
      details: { tenant: partner.tenant, ...urlEvidence(body.url) },
    });
    throw new GatewayError('WEBHOOK_URL_NOT_ALLOWED');
  }
  const id = `whe_${randomUUID()}`;
  const secret = generateWebhookSecret();
  const eventTypes = body.eventTypes === undefined ? null : [...new Set(body.eventTypes)].sort();
  const now = deps.now();
  const row = await withTenant(deps.store, partner.tenant, async (tx) => {
    const [count] = await tx.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM webhook_endpoints WHERE partner_id = $1 AND status = 'active'`,
      [partner.id],
    );
    if (Number(count?.n ?? 0) >= deps.config.webhooks.maxEndpointsPerPartner)
      throw new GatewayError('WEBHOOK_ENDPOINT_LIMIT');
    const [inserted] = await tx.query<EndpointRow>(
      `INSERT INTO webhook_endpoints (id, tenant_id, partner_id, url, event_types, status, secret_generation,
         secret_sealed, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'active', 1, $6, $7, $7) RETURNING *`,
      [id, partner.tenant, partner.id, url.href, eventTypes, sealSecret(deps.kek, secret, id, 1), now],
    );
    await deps.audit.appendInTx(tx, {
      class: 'webhook.endpoint.created',
      actor: actorOf(partner),
      subject: { kind: 'webhook-endpoint', id },
      outcome: 'accepted',
      details: { tenant: partner.tenant, ...urlEvidence(url.href), eventTypes: eventTypes ?? 'all' },
    });
    return inserted as EndpointRow;
  });
  return { endpoint: toView(row), secret };
}

export async function listEndpoints(deps: WebhookDeps, partner: WebhookPartner): Promise<EndpointView[]> {
  const rows = await withTenant(deps.store, partner.tenant, (tx) =>
    tx.query<EndpointRow>(
      `SELECT * FROM webhook_endpoints WHERE partner_id = $1 AND status = 'active' ORDER BY created_at, id`,
      [partner.id],
    ),
  );
  return rows.map(toView);
}

/** Deletes an endpoint: its pending deliveries are cancelled and its secrets erased. */
export async function deleteEndpoint(deps: WebhookDeps, partner: WebhookPartner, id: string): Promise<void> {
  const now = deps.now();
  await withTenant(deps.store, partner.tenant, async (tx) => {
    const [row] = await tx.query<EndpointRow>(
      `UPDATE webhook_endpoints SET status = 'deleted', secret_sealed = '', previous_secret_sealed = NULL,
         previous_secret_expires_at = NULL, updated_at = $3
       WHERE id = $1 AND partner_id = $2 AND status = 'active' RETURNING *`,
      [id, partner.id, now],
    );
    if (row === undefined) throw new GatewayError('WEBHOOK_ENDPOINT_NOT_FOUND');
    await tx.query(
      `UPDATE webhook_deliveries SET status = 'cancelled', lease_until = NULL, updated_at = $2
       WHERE endpoint_id = $1 AND status = 'pending'`,
      [id, now],
    );
    await deps.audit.appendInTx(tx, {
      class: 'webhook.endpoint.deleted',
      actor: actorOf(partner),
      subject: { kind: 'webhook-endpoint', id },
      outcome: 'recorded',
      details: { tenant: partner.tenant, ...urlEvidence(row.url) },
    });
  });
}

/**
 * A new secret for an endpoint; the current one becomes the previous one and keeps signing alongside
 * for `webhooks.secretOverlapSeconds` (a second rotation within that time drops the oldest).
 */
export async function rotateSecret(
  deps: WebhookDeps,
  partner: WebhookPartner,
  id: string,
): Promise<{ endpoint: EndpointView; secret: string }> {
  const secret = generateWebhookSecret();
  const now = deps.now();
  const expires = new Date(now.getTime() + deps.config.webhooks.secretOverlapSeconds * 1000);
  const row = await withTenant(deps.store, partner.tenant, async (tx) => {
    const [current] = await tx.query<EndpointRow>(
      `SELECT * FROM webhook_endpoints WHERE id = $1 AND partner_id = $2 AND status = 'active' FOR UPDATE`,
      [id, partner.id],
    );
    if (current === undefined) throw new GatewayError('WEBHOOK_ENDPOINT_NOT_FOUND');
    const generation = Number(current.secret_generation) + 1;
    const [updated] = await tx.query<EndpointRow>(
      `UPDATE webhook_endpoints SET secret_generation = $2, secret_sealed = $3, previous_secret_sealed = $4,
         previous_secret_expires_at = $5, updated_at = $6
       WHERE id = $1 RETURNING *`,
      [id, generation, sealSecret(deps.kek, secret, id, generation), current.secret_sealed, expires, now],
    );
    await deps.audit.appendInTx(tx, {
      class: 'webhook.endpoint.secret-rotated',
      actor: actorOf(partner),
      subject: { kind: 'webhook-endpoint', id },
      outcome: 'recorded',
      details: { tenant: partner.tenant, generation, previousSecretExpiresAt: expires.toISOString() },
    });
    return updated as EndpointRow;
  });
  return { endpoint: toView(row), secret };
}
