/**
 * Prometheus metrics on a registry owned by one gateway instance (no process-global registry, so
 * tests and several gateways in one process do not collide). Served on the ops listener at /metrics.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { GatewayEvents } from '../events.ts';

export interface GatewayMetrics {
  registry: Registry;
  httpRequests: Counter<'listener' | 'status'>;
}

export function createMetrics(events: GatewayEvents): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fleetgate_' });
  const httpRequests = new Counter({
    name: 'fleetgate_http_requests_total',
    help: 'HTTP requests answered, by listener and status',
    labelNames: ['listener', 'status'] as const,
    registers: [registry],
  });
  const batches = new Counter({
    name: 'fleetgate_telemetry_batches_total',
    help: 'Telemetry batches by result and reason code',
    labelNames: ['result', 'code'] as const,
    registers: [registry],
  });
  const records = new Counter({
    name: 'fleetgate_telemetry_records_total',
    help: 'Telemetry records stored from verified batches',
    registers: [registry],
  });
  const tenders = new Counter({
    name: 'fleetgate_tenders_total',
    help: 'Tender decisions',
    labelNames: ['decision'] as const,
    registers: [registry],
  });
  const tlsRefused = new Counter({
    name: 'fleetgate_tls_handshakes_refused_total',
    help: 'TLS handshakes refused, by listener',
    labelNames: ['listener'] as const,
    registers: [registry],
  });
  const checkpointSize = new Gauge({
    name: 'fleetgate_audit_checkpoint_size',
    help: 'Tree size of the latest signed audit checkpoint',
    registers: [registry],
  });
  events.on('telemetry.accepted', (e) => {
    batches.inc({ result: 'accepted', code: 'OK' });
    records.inc(e.records);
  });
  events.on('telemetry.rejected', (e) => batches.inc({ result: 'rejected', code: e.code }));
  events.on('tender.decided', (e) => tenders.inc({ decision: e.decision }));
  events.on('tls.refused', (e) => tlsRefused.inc({ listener: e.listener }));
  events.on('audit.checkpoint', (e) => checkpointSize.set(e.size));
  return { registry, httpRequests };
}
