/**
 * Webhook metrics on the gateway's registry (observability/metrics.ts):
 *   fleetgate_webhook_attempts_total{outcome}   delivery attempts by outcome: delivered, retry, dead;
 *   fleetgate_webhook_refused_total{reason}     attempts refused by the SSRF rules (WEBHOOK_TARGET_*);
 *   fleetgate_webhook_queue_depth{status}       deliveries pending and dead, every tenant, read from the
 *                                               store at scrape time (so it agrees across nodes).
 * A store failure at scrape time keeps the last values rather than failing the scrape.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Store } from '../store/store.ts';
import { withOperator } from '../tendering/tenant-scope.ts';

export interface WebhookMetrics {
  attempts: Counter<'outcome'>;
  refused: Counter<'reason'>;
}

export function registerWebhookMetrics(registry: Registry, store: Store): WebhookMetrics {
  const attempts = new Counter({
    name: 'fleetgate_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome (delivered, retry, dead)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'fleetgate_webhook_refused_total',
    help: 'Webhook attempts refused by the SSRF rules, by reason code',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'fleetgate_webhook_queue_depth',
    help: 'Webhook deliveries by status (pending, dead), all tenants',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      try {
        const rows = await withOperator(store, (tx) =>
          tx.query<{ status: string; n: string | number }>(
            `SELECT status, count(*) AS n FROM webhook_deliveries WHERE status IN ('pending', 'dead') GROUP BY status`,
          ),
        );
        for (const status of ['pending', 'dead']) {
          this.set({ status }, Number(rows.find((r) => r.status === status)?.n ?? 0));
        }
      } catch {
        // keep the last values; /metrics must answer even when the store does not
      }
    },
  });
  return { attempts, refused };
}
