/**
 * Tracking of a load (issue 6 §4; GET /v1/loads/{id}/tracking; docs/tendering.md "Tracking"): the
 * tender's status and timestamped status history, positions of the truck assigned at dispatch, and an
 * ETA. Positions come only from *verified* telemetry — telemetry_batches holds batches whose signature,
 * counter and certificate checked out (refused ones are in telemetry_rejections) — of that vehicle, for
 * that load id, recorded since dispatch. The ETA is the remaining lane distance (lane distance minus the
 * odometer travelled on the load) over the planning speed, from the latest position; before any position,
 * it is planned from the pickup window; a final status has none.
 *
 * Tenant-scoped (withTenant): another partner's load is 404 like a missing one (OWASP API1).
 */
import type { GatewayConfig } from '../config/config.ts';
import { defaultTenderEngineConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Store } from '../store/store.ts';
import { TENDER_COLUMNS, type TenderRow } from './internal/record.ts';
import { FINAL, isTenderStatus } from './lifecycle.ts';
import { withTenant } from './tenant-scope.ts';

/** At most this many positions (newest first) in one answer. */
export const MAX_POSITIONS = 100;

export interface TrackingView {
  loadId: string;
  status: string;
  vehicleId: string | null;
  positions: {
    recordedAt: string;
    latitude: number;
    longitude: number;
    speedMps: number;
    headingDeg: number;
  }[];
  history: {
    from: string | null;
    to: string;
    event: string;
    actor: { kind: string; id: string };
    reason: string | null;
    occurredAt: string;
    recordedAt: string;
    auditIndex: number;
  }[];
  eta: { at: string; remainingKm: number; basis: 'telemetry' | 'plan' } | null;
  receipt: { logOrigin: string; auditIndex: number };
}

export interface TrackingDeps {
  store: Store;
  origin: string;
  config: Partial<Pick<GatewayConfig, 'tenderEngine'>>;
  now: () => Date;
}

interface PositionRow extends Record<string, unknown> {
  recorded_at: Date;
  latitude: number;
  longitude: number;
  speed_mps: number;
  heading_deg: number;
  odometer_m: number;
}

export async function getTracking(
  deps: TrackingDeps,
  partner: { id: string; tenant: string },
  id: string,
): Promise<TrackingView> {
  const engine = deps.config.tenderEngine ?? defaultTenderEngineConfig();
  return withTenant(deps.store, partner.tenant, async (tx) => {
    const [tender] = await tx.query<TenderRow & Record<string, unknown>>(
      `SELECT ${TENDER_COLUMNS} FROM tenders WHERE id = $1 AND partner_id = $2`,
      [id, partner.id],
    );
    if (tender === undefined) throw new GatewayError('TENDER_NOT_FOUND');
    const history = await tx.query<{
      from_status: string | null;
      to_status: string;
      event: string;
      actor_kind: string;
      actor_id: string;
      reason: string | null;
      occurred_at: Date;
      recorded_at: Date;
      audit_index: string;
    }>(
      `SELECT from_status, to_status, event, actor_kind, actor_id, reason, occurred_at, recorded_at, audit_index
       FROM tender_status_history WHERE tender_id = $1 ORDER BY seq`,
      [id],
    );
    const dispatchedAt = history.find((h) => h.to_status === 'dispatched')?.occurred_at;
    let positions: PositionRow[] = [];
    let firstOdometer: number | undefined;
    if (tender.vehicle_id !== null && dispatchedAt !== undefined) {
      const params = [tender.vehicle_id, tender.load_id ?? tender.id, dispatchedAt];
      const from = `FROM telemetry_records r JOIN telemetry_batches b ON b.id = r.batch_id
        WHERE b.vehicle_id = $1 AND r.vehicle_id = $1 AND b.load_id = $2 AND r.recorded_at >= $3`;
      positions = await tx.query<PositionRow>(
        `SELECT r.recorded_at, r.latitude, r.longitude, r.speed_mps, r.heading_deg, r.odometer_m ${from}
         ORDER BY r.recorded_at DESC, r.seq DESC LIMIT ${MAX_POSITIONS}`,
        params,
      );
      const [first] = await tx.query<{ odometer_m: number }>(
        `SELECT r.odometer_m ${from} ORDER BY r.recorded_at ASC, r.seq ASC LIMIT 1`,
        params,
      );
      firstOdometer = first?.odometer_m;
    }
    const distanceKm = tender.lane_id === null ? undefined : engine.laneDistanceKm[tender.lane_id];
    const final = !isTenderStatus(tender.status) || FINAL.includes(tender.status);
    const hours = (km: number) => (km / engine.averageSpeedKmh) * 3_600_000;
    let eta: TrackingView['eta'] = null;
    const latest = positions[0];
    if (!final && distanceKm !== undefined && tender.status !== 'declined') {
      if (latest !== undefined && firstOdometer !== undefined) {
        const travelledKm = Math.max(0, (latest.odometer_m - firstOdometer) / 1000);
        const remainingKm = Math.max(0, distanceKm - travelledKm);
        eta = {
          at: new Date(latest.recorded_at.getTime() + hours(remainingKm)).toISOString(),
          remainingKm: Math.round(remainingKm * 10) / 10,
          basis: 'telemetry',
        };
      } else {
        const departs = Math.max(deps.now().getTime(), tender.pickup_start.getTime());
        eta = {
          at: new Date(departs + hours(distanceKm)).toISOString(),
          remainingKm: distanceKm,
          basis: 'plan',
        };
      }
    }
    return {
      loadId: tender.id,
      status: tender.status,
      vehicleId: tender.vehicle_id,
      positions: positions.map((p) => ({
        recordedAt: p.recorded_at.toISOString(),
        latitude: p.latitude,
        longitude: p.longitude,
        speedMps: p.speed_mps,
        headingDeg: p.heading_deg,
      })),
      history: history.map((h) => ({
        from: h.from_status,
        to: h.to_status,
        event: h.event,
        actor: { kind: h.actor_kind, id: h.actor_id },
        reason: h.reason,
        occurredAt: h.occurred_at.toISOString(),
        recordedAt: h.recorded_at.toISOString(),
        auditIndex: Number(h.audit_index),
      })),
      eta,
      receipt: { logOrigin: deps.origin, auditIndex: Number(tender.audit_index) },
    };
  });
}
