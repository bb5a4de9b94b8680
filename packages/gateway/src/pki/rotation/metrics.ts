/**
 * Rotation metrics on the ops listener's Prometheus registry (the scorecard's "mean time to rotation",
 * ARCHITECTURE.md §8):
 *   fleetgate_certificate_rotation_seconds{forced}      histogram, observed by this node at each issuance
 *                                                        that replaces a certificate: seconds from the
 *                                                        renewal falling due (or the forced rotation) to
 *                                                        the successor's issuance; early renewals count 0;
 *   fleetgate_certificate_mean_time_to_rotation_seconds gauge, the same mean over every rotation of the
 *                                                        last 30 days, read from the store at scrape time,
 *                                                        so it agrees across nodes and restarts;
 *   fleetgate_certificates_rotation_overdue             gauge, active vehicle certificates past their due
 *                                                        time with no successor (a vehicle that is not
 *                                                        renewing), and force-rotated ones not re-enrolled.
 * A store failure at scrape time leaves the gauges at their last value rather than failing the scrape.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Store } from '../../store/store.ts';
import type { Predecessor } from './succession.ts';

export interface RotationMetrics {
  observe(predecessors: readonly Predecessor[]): void;
}

const DAY = 86_400;
const WINDOW_DAYS = 30;

export function registerRotationMetrics(
  registry: Registry,
  store: Store,
  options: { renewAtFraction: number; now: () => Date },
): RotationMetrics {
  const histogram = new Histogram({
    name: 'fleetgate_certificate_rotation_seconds',
    help: 'Seconds from a certificate renewal falling due (or a forced rotation) to the successor issuance',
    labelNames: ['forced'] as const,
    buckets: [60, 600, 3600, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 30 * DAY],
    registers: [registry],
  });
  new Gauge({
    name: 'fleetgate_certificate_mean_time_to_rotation_seconds',
    help: `Mean seconds from renewal due (or forced) to successor issuance, rotations of the last ${WINDOW_DAYS} days`,
    registers: [registry],
    async collect() {
      try {
        const [row] = await store.query<{ mean: string | null }>(
          `SELECT avg(greatest(0, extract(epoch FROM successor_issued_at - due_at)))::float8::text AS mean
             FROM certificate_rotations
            WHERE successor_issued_at IS NOT NULL AND successor_issued_at >= $1`,
          [new Date(options.now().getTime() - WINDOW_DAYS * DAY * 1000)],
        );
        this.set(row?.mean == null ? 0 : Number(row.mean));
      } catch {
        // keep the last value; /metrics must answer even when the store does not
      }
    },
  });
  new Gauge({
    name: 'fleetgate_certificates_rotation_overdue',
    help: 'Vehicle certificates past their renewal time without a successor, or force-rotated and not re-enrolled',
    registers: [registry],
    async collect() {
      try {
        const [row] = await store.query<{ n: string }>(
          `SELECT count(*)::int8 AS n FROM certificates c
            WHERE c.kind = 'vehicle' AND c.replaced_by IS NULL AND (
              (c.status = 'active' AND c.not_before + (c.not_after - c.not_before) * $1::float8 <= $2)
              OR EXISTS (SELECT 1 FROM certificate_rotations r
                          WHERE r.serial_number = c.serial_number AND r.forced AND r.successor_serial IS NULL))`,
          [options.renewAtFraction, options.now()],
        );
        this.set(Number(row?.n ?? 0));
      } catch {
        // as above
      }
    },
  });
  return {
    observe(predecessors) {
      for (const p of predecessors) histogram.observe({ forced: String(p.forced) }, p.rotationSeconds);
    },
  };
}
