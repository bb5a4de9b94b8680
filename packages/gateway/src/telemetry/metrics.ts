/**
 * Prometheus metrics of the telemetry ingest, on the gateway's own registry (observability/metrics.ts
 * counts accepted and refused batches by code; these add what group commit, the limits and the vehicle
 * flags do). Names and meanings: docs/telemetry.md "Metrics".
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queryable } from '../store/store.ts';

export interface TelemetryMetrics {
  groupItems: Histogram;
  groupSeconds: Histogram;
  queueOverflow: Counter<'item'>;
  rateLimited: Counter<'limit'>;
  flagTransitions: Counter<'flag' | 'transition'>;
}

export function createTelemetryMetrics(
  registry: Registry | undefined,
  store: Queryable,
  queueDepth: () => number,
): TelemetryMetrics {
  const registers = [registry ?? new Registry()];
  new Gauge({
    name: 'fleetgate_telemetry_ingest_queue_depth',
    help: 'Telemetry items waiting for the next group commit',
    registers,
    collect() {
      this.set(queueDepth());
    },
  });
  new Gauge({
    name: 'fleetgate_telemetry_vehicles_flagged',
    help: 'Vehicles with an active flag (all gateway nodes), by flag',
    labelNames: ['flag'] as const,
    registers,
    async collect() {
      this.reset();
      const rows = await store.query<{ flag: string; n: string }>(
        'SELECT flag, count(*)::int8 AS n FROM vehicle_flags WHERE active GROUP BY flag',
      );
      this.set({ flag: 'clock_skew' }, 0);
      for (const row of rows) this.set({ flag: row.flag }, Number(row.n));
    },
  });
  return {
    groupItems: new Histogram({
      name: 'fleetgate_telemetry_group_commit_items',
      help: 'Items (accepted batches and rejections) written per group-commit transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    }),
    groupSeconds: new Histogram({
      name: 'fleetgate_telemetry_group_commit_seconds',
      help: 'Duration of one group-commit transaction',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    queueOverflow: new Counter({
      name: 'fleetgate_telemetry_queue_overflow_total',
      help: 'Telemetry items refused (503) or not recorded because the ingest queue was full',
      labelNames: ['item'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: 'fleetgate_telemetry_rate_limited_total',
      help: 'Telemetry requests refused by a per-device limit (bytes, records, connections)',
      labelNames: ['limit'] as const,
      registers,
    }),
    flagTransitions: new Counter({
      name: 'fleetgate_telemetry_vehicle_flag_transitions_total',
      help: 'Vehicle flags raised or cleared by this node',
      labelNames: ['flag', 'transition'] as const,
      registers,
    }),
  };
}
