/**
 * The stored tender (tenders, tender_status_history, capacity_bookings; migrations 001 and 008) and its
 * public view. Internal to tendering/: every query here runs inside a transaction opened by
 * tenant-scope.ts, so row-level security has already narrowed what it can see.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../store/store.ts';
import type { TenderRequest } from '../decide.ts';
import type { TenderStatus } from '../lifecycle.ts';

export const TENDER_COLUMNS = `id, partner_id, tenant_id, reference, origin, destination, lane_id, equipment, weight_kg,
  hazmat, pickup_start, pickup_end, delivery_end, status, reason_codes, audit_index, created_at, updated_at,
  request_json, vehicle_id, load_id, resume_status, decided_by`;

export interface TenderRow {
  id: string;
  partner_id: string;
  tenant_id: string;
  reference: string;
  origin: string;
  destination: string;
  lane_id: string | null;
  equipment: string;
  weight_kg: number;
  hazmat: boolean;
  pickup_start: Date;
  pickup_end: Date;
  delivery_end: Date;
  status: string;
  reason_codes: string[];
  audit_index: string;
  created_at: Date;
  updated_at: Date;
  request_json: string;
  vehicle_id: string | null;
  load_id: string | null;
  resume_status: string | null;
  decided_by: string;
}

export interface Receipt {
  logOrigin: string;
  auditIndex: number;
}

/** The tender as requested (every TenderRequest field) and as decided. */
export interface TenderView extends TenderRequest {
  id: string;
  status: string;
  reasonCodes: string[];
  laneId: string | null;
  vehicleId: string | null;
  decidedBy: string;
  createdAt: string;
  updatedAt: string;
  receipt: Receipt;
}

/** A time-ordered tender id (UUIDv7 layout: 48-bit milliseconds, version, random), so ids page by age. */
export function newTenderId(now: Date): string {
  const bytes = randomBytes(16);
  const ms = BigInt(now.getTime());
  for (let i = 0; i < 6; i += 1) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `tnd_${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function toView(row: TenderRow, logOrigin: string): TenderView {
  let extra: Pick<TenderRequest, 'stops' | 'rate' | 'references'> = {};
  try {
    extra = JSON.parse(row.request_json) as typeof extra;
  } catch {
    extra = {};
  }
  const view: TenderView = {
    id: row.id,
    reference: row.reference,
    status: row.status,
    reasonCodes: row.reason_codes,
    laneId: row.lane_id,
    origin: row.origin,
    destination: row.destination,
    equipment: row.equipment,
    weightKg: row.weight_kg,
    hazmat: row.hazmat,
    pickupWindow: { start: row.pickup_start.toISOString(), end: row.pickup_end.toISOString() },
    deliverBy: row.delivery_end.toISOString(),
    vehicleId: row.vehicle_id,
    decidedBy: row.decided_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    receipt: { logOrigin, auditIndex: Number(row.audit_index) },
  };
  if (extra.stops !== undefined) view.stops = extra.stops;
  if (extra.rate !== undefined) view.rate = extra.rate;
  if (extra.references !== undefined) view.references = extra.references;
  return view;
}

export async function loadForUpdate(tx: Queryable, id: string): Promise<TenderRow | undefined> {
  const [row] = await tx.query<TenderRow & Record<string, unknown>>(
    `SELECT ${TENDER_COLUMNS} FROM tenders WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return row;
}

export interface HistoryEntry {
  tenderId: string;
  tenant: string;
  from: TenderStatus | null;
  to: TenderStatus;
  event: string;
  actor: { kind: 'partner' | 'operator' | 'system'; id: string };
  reason: string | null;
  occurredAt: Date;
  recordedAt: Date;
  auditIndex: number;
}

export async function appendHistory(tx: Queryable, entry: HistoryEntry): Promise<void> {
  await tx.query(
    `INSERT INTO tender_status_history (tender_id, seq, tenant_id, from_status, to_status, event, actor_kind,
       actor_id, reason, occurred_at, recorded_at, audit_index)
     VALUES ($1, (SELECT count(*) FROM tender_status_history WHERE tender_id = $1), $2, $3, $4, $5, $6, $7, $8,
       $9, $10, $11)`,
    [
      entry.tenderId,
      entry.tenant,
      entry.from,
      entry.to,
      entry.event,
      entry.actor.kind,
      entry.actor.id,
      entry.reason,
      entry.occurredAt,
      entry.recordedAt,
      String(entry.auditIndex),
    ],
  );
}

/** Statuses in which a tender holds a truck (capacity). */
const HOLDS_TRUCK: readonly string[] = [
  'accepted',
  'dispatched',
  'at_pickup',
  'loaded',
  'in_transit',
  'at_delivery',
  'delayed',
  'safe_stopped',
];

/** Keeps capacity_bookings in step with the tender's status. */
export async function syncBooking(
  tx: Queryable,
  tender: { id: string; pickupStart: Date; deliverBy: Date },
  status: string,
): Promise<void> {
  if (!HOLDS_TRUCK.includes(status)) {
    await tx.query('UPDATE capacity_bookings SET active = false WHERE tender_id = $1', [tender.id]);
    return;
  }
  await tx.query(
    `INSERT INTO capacity_bookings (tender_id, starts_at, ends_at, active) VALUES ($1, $2, $3, true)
     ON CONFLICT (tender_id) DO UPDATE SET active = true`,
    [tender.id, tender.pickupStart, tender.deliverBy],
  );
}

/** Trucks booked by any tenant's tenders whose window overlaps [start, end). */
export async function bookedInWindow(tx: Queryable, start: Date, end: Date): Promise<number> {
  const [row] = await tx.query<{ n: string }>(
    'SELECT count(*) AS n FROM capacity_bookings WHERE active AND starts_at < $2 AND ends_at > $1',
    [start, end],
  );
  return Number(row?.n ?? 0);
}
