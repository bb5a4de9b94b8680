/**
 * The webhook dispatcher of one gateway node (docs/tendering.md "Webhooks"): a loop, every
 * `webhooks.pollIntervalMs` and at once when woken (a tender decision, a redelivery), that
 *   1. fans new lifecycle changes out into deliveries (fan-out.ts), then
 *   2. claims due deliveries and sends them, at most `webhooks.concurrency` at a time and at most one per
 *      endpoint, so a slow or dead receiver holds one slot and never the queue of the others.
 * Claiming is safe across nodes on one PostgreSQL: `FOR UPDATE SKIP LOCKED` picks rows no other node is
 * claiming, and a lease (timeout + 30 s) keeps a row of an attempt in flight from being claimed again;
 * a node that dies mid-attempt leaves a lease that simply expires (the attempt is retried: at-least-once).
 * Each attempt is recorded (status, error code, duration); 2xx delivers; anything else is retried on the
 * backoff.ts schedule until `webhooks.maxAttempts`, then the delivery is dead (audited). SSRF refusals are
 * audited as webhook.target.refused. stop() ends the loop and waits for attempts in flight.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditEvent } from '../audit/event.ts';
import type { AuditLog } from '../audit/log.ts';
import type { PartnerConfig, WebhooksConfig } from '../config/config.ts';
import type { Store } from '../store/store.ts';
import type { KeyWrappingKey } from '../telemetry/device-keys/kek.ts';
import { withOperator } from '../tendering/tenant-scope.ts';
import { type Nat64Prefix, parseNat64Prefix } from './address-policy.ts';
import { retryDelayMs } from './backoff.ts';
import { type AttemptOutcome, type DeliverOptions, deliverOnce, REFUSALS } from './deliver.ts';
import { urlEvidence } from './endpoints.ts';
import { fanOutBatch } from './fan-out.ts';
import { openSecret } from './internal/secret-box.ts';
import { registerWebhookMetrics, type WebhookMetrics } from './metrics.ts';
import { signWebhook } from './sign.ts';
import { isAllowed, parseEndpointUrl } from './target-url.ts';

export interface WebhookDispatcherDeps {
  store: Store;
  audit: AuditLog;
  now: () => Date;
  logger: Logger;
  kek: KeyWrappingKey;
  config: { webhooks: WebhooksConfig; partners: readonly PartnerConfig[] };
  /** Trust anchors for receivers (system roots + webhooks.trustedCaFile); undefined: Node's defaults. */
  ca: readonly string[] | undefined;
  registry?: Registry;
  /** Replaces DNS resolution (tests of the address rule). */
  resolve?: DeliverOptions['resolve'];
}

export interface WebhookDispatcher {
  /** Runs the loop now rather than at the next poll. */
  wake(): void;
  stop(): Promise<void>;
}

interface ClaimedRow {
  id: string;
  tenant_id: string;
  partner_id: string;
  endpoint_id: string;
  message_id: string;
  payload: string;
  series: number;
  attempts: number;
  total_attempts: number;
  url: string;
  secret_generation: number;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | null;
  [key: string]: unknown;
}

const LEASE_MARGIN_MS = 30_000;

export function startWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  const { store, logger } = deps;
  const cfg = deps.config.webhooks;
  // Validated with the configuration (config/validate.ts): every entry parses.
  const nat64Prefixes = cfg.nat64Prefixes
    .map((p) => parseNat64Prefix(p))
    .filter((p): p is Nat64Prefix => p !== null);
  const metrics: WebhookMetrics | undefined =
    deps.registry === undefined ? undefined : registerWebhookMetrics(deps.registry, store);
  const inFlight = new Map<string, Promise<void>>(); // endpoint id → attempt
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, cfg.pollIntervalMs);
    timer.unref();
  };

  function run(): void {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        do {
          again = false;
          while ((await fanOutBatch(store, deps.now)) > 0 && !stopped) {
            // drain the feed batch by batch
          }
          await claimAndSend();
        } while (again && !stopped);
      } catch (error) {
        logger.error({ err: error }, 'webhook dispatcher pass failed');
      } finally {
        running = undefined;
        schedule();
      }
    })();
  }

  async function claimAndSend(): Promise<void> {
    const free = cfg.concurrency - inFlight.size;
    if (free <= 0 || stopped) return;
    const now = deps.now();
    const lease = new Date(now.getTime() + cfg.timeoutMs + LEASE_MARGIN_MS);
    const busy = [...inFlight.keys()];
    const claimed = await withOperator(store, async (tx) => {
      const due = await tx.query<{ id: string; endpoint_id: string }>(
        `SELECT id, endpoint_id FROM webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
           AND NOT (endpoint_id = ANY($2::text[]))
         ORDER BY next_attempt_at, created_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [now, busy, free * 4],
      );
      const endpoints = new Set<string>();
      const ids: string[] = [];
      for (const row of due) {
        if (ids.length >= free || endpoints.has(row.endpoint_id)) continue;
        endpoints.add(row.endpoint_id);
        ids.push(row.id);
      }
      if (ids.length === 0) return [];
      await tx.query('UPDATE webhook_deliveries SET lease_until = $2 WHERE id = ANY($1::text[])', [
        ids,
        lease,
      ]);
      return tx.query<ClaimedRow>(
        `SELECT d.id, d.tenant_id, d.partner_id, d.endpoint_id, d.message_id, d.payload, d.series, d.attempts,
           d.total_attempts, e.url, e.secret_generation, e.secret_sealed, e.previous_secret_sealed,
           e.previous_secret_expires_at
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.id = ANY($1::text[])`,
        [ids],
      );
    });
    for (const row of claimed) {
      const attempt = sendOne(row)
        .catch((error: unknown) => logger.error({ err: error, delivery: row.id }, 'webhook attempt failed'))
        .finally(() => {
          inFlight.delete(row.endpoint_id);
          run(); // a slot is free: the next due delivery goes now
        });
      inFlight.set(row.endpoint_id, attempt);
    }
  }

  async function sendOne(row: ClaimedRow): Promise<void> {
    const now = deps.now();
    const allowed = deps.config.partners.find((p) => p.id === row.partner_id)?.webhooks?.allowedUrls ?? [];
    const url = parseEndpointUrl(row.url);
    let outcome: AttemptOutcome;
    if (typeof url === 'string' || !isAllowed(url, allowed)) {
      outcome = { ok: false, code: 'WEBHOOK_TARGET_NOT_ALLOWED', statusCode: null, durationMs: 0 };
    } else {
      const generation = Number(row.secret_generation);
      const secrets = [openSecret(deps.kek, row.secret_sealed, row.endpoint_id, generation)];
      const previousUntil = row.previous_secret_expires_at;
      if (row.previous_secret_sealed !== null && previousUntil !== null && new Date(previousUntil) > now)
        secrets.push(openSecret(deps.kek, row.previous_secret_sealed, row.endpoint_id, generation - 1));
      const signed = signWebhook(secrets, row.message_id, Math.floor(now.getTime() / 1000), row.payload);
      outcome = await deliverOnce(
        url,
        row.payload,
        { ...signed, 'content-type': 'application/json', 'user-agent': 'fleetgate-webhooks/1' },
        {
          timeoutMs: cfg.timeoutMs,
          allowPrivateAddresses: cfg.allowPrivateAddresses,
          nat64Prefixes,
          ca: deps.ca,
          ...(deps.resolve === undefined ? {} : { resolve: deps.resolve }),
        },
      );
    }
    await record(row, outcome);
  }

  async function record(row: ClaimedRow, outcome: AttemptOutcome): Promise<void> {
    const at = deps.now();
    const attempts = Number(row.attempts) + 1;
    const total = Number(row.total_attempts) + 1;
    const dead = !outcome.ok && attempts >= cfg.maxAttempts;
    const status = outcome.ok ? 'delivered' : dead ? 'dead' : 'pending';
    const next = outcome.ok || dead ? at : new Date(at.getTime() + retryDelayMs(attempts, cfg.backoffBaseMs));
    const code = outcome.ok ? null : outcome.code;
    await withOperator(store, async (tx) => {
      await tx.query(
        `INSERT INTO webhook_attempts (delivery_id, n, series, tenant_id, attempted_at, duration_ms, status_code,
           error_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (delivery_id, n) DO NOTHING`,
        [row.id, total, Number(row.series), row.tenant_id, at, outcome.durationMs, outcome.statusCode, code],
      );
      // Only the series this attempt belongs to, and only while pending: a delivery cancelled (endpoint
      // deleted) or redelivered meanwhile is not overwritten.
      const updated = await tx.query(
        `UPDATE webhook_deliveries SET status = $2, attempts = $3, total_attempts = $4, next_attempt_at = $5,
           lease_until = NULL, last_status_code = $6, last_error = $7, updated_at = $8
         WHERE id = $1 AND status = 'pending' AND series = $9 RETURNING id`,
        [row.id, status, attempts, total, next, outcome.statusCode, code, at, Number(row.series)],
      );
      const events: AuditEvent[] = [];
      const subject = { kind: 'webhook-delivery', id: row.id };
      const actor = { kind: 'system' as const, id: 'webhook-dispatcher' };
      if (code !== null && REFUSALS.includes(code)) {
        events.push({
          class: 'webhook.target.refused',
          actor,
          subject,
          outcome: 'rejected',
          reasons: [code],
          details: {
            tenant: row.tenant_id,
            partnerId: row.partner_id,
            endpointId: row.endpoint_id,
            ...urlEvidence(row.url),
            ...(outcome.statusCode === null ? {} : { statusCode: outcome.statusCode }),
          },
        });
      }
      if (dead && updated.length > 0) {
        events.push({
          class: 'webhook.delivery.dead',
          actor,
          subject,
          outcome: 'rejected',
          reasons: [code ?? 'WEBHOOK_TARGET_STATUS'],
          details: {
            tenant: row.tenant_id,
            partnerId: row.partner_id,
            endpointId: row.endpoint_id,
            messageId: row.message_id,
            attempts,
          },
        });
      }
      if (events.length > 0) await deps.audit.appendManyInTx(tx, events);
    });
    metrics?.attempts.inc({ outcome: outcome.ok ? 'delivered' : dead ? 'dead' : 'retry' });
    if (code !== null && REFUSALS.includes(code)) metrics?.refused.inc({ reason: code });
  }

  run();
  return {
    wake: run,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
