/**
 * The automatic tender decision (issue 6; docs/tendering.md "Decision engine"): lanes served (hub to hub),
 * equipment, hazmat and weight limits, the windows, ODD limits (operating hours, equipment qualified),
 * fleet capacity in the window and window feasibility (lane distance / planning speed). Pure and
 * deterministic — the capacity count is an input — so a decision can be re-derived from the audited
 * request. Every outcome carries reason codes; what the engine cannot decide (unknown lane distance, a
 * window with too little slack, a pickup beyond the planning horizon) goes to human review.
 *
 * Threat: freight accepted that the fleet cannot move safely or on time (outside the operational design
 * domain, over capacity) — every accept is explainable from the request, the configuration and the count.
 */
import {
  defaultTenderEngineConfig,
  type GatewayConfig,
  type LaneConfig,
  type TenderEngineConfig,
} from '../config/config.ts';

/** A stop of a multi-stop tender (EDI S5 / G62): where, and the window the truck must be there. */
export interface TenderStop {
  type: 'pickup' | 'delivery';
  location: { name: string; address?: string; latitude?: number; longitude?: number };
  window: { start: string; end: string };
}

export interface TenderRequest {
  reference: string;
  origin: string;
  destination: string;
  equipment: string;
  weightKg: number;
  hazmat: boolean;
  pickupWindow: { start: string; end: string };
  deliverBy: string;
  /** Optional detail (API v1): stops in order, the offered rate, the partner's references (EDI L11). */
  stops?: TenderStop[];
  rate?: { amountCents: number; currency: string };
  references?: { qualifier: string; value: string }[];
}

export type TenderReason =
  | 'LANE_SERVED'
  | 'LANE_NOT_SERVED'
  | 'EQUIPMENT_NOT_SUPPORTED'
  | 'HAZMAT_NOT_ALLOWED'
  | 'OVERWEIGHT'
  | 'WINDOW_INVALID'
  | 'WINDOW_IN_PAST'
  | 'STOPS_INVALID'
  | 'ODD_EQUIPMENT'
  | 'ODD_HOURS'
  | 'CAPACITY_EXHAUSTED'
  | 'WINDOW_INFEASIBLE'
  | 'REVIEW_LANE_DISTANCE_UNKNOWN'
  | 'REVIEW_WINDOW_TIGHT'
  | 'REVIEW_BEYOND_HORIZON'
  | 'OPERATOR_ACCEPTED'
  | 'OPERATOR_DECLINED';

export const TENDER_REASONS: readonly TenderReason[] = [
  'LANE_SERVED',
  'LANE_NOT_SERVED',
  'EQUIPMENT_NOT_SUPPORTED',
  'HAZMAT_NOT_ALLOWED',
  'OVERWEIGHT',
  'WINDOW_INVALID',
  'WINDOW_IN_PAST',
  'STOPS_INVALID',
  'ODD_EQUIPMENT',
  'ODD_HOURS',
  'CAPACITY_EXHAUSTED',
  'WINDOW_INFEASIBLE',
  'REVIEW_LANE_DISTANCE_UNKNOWN',
  'REVIEW_WINDOW_TIGHT',
  'REVIEW_BEYOND_HORIZON',
  'OPERATOR_ACCEPTED',
  'OPERATOR_DECLINED',
];

export interface TenderDecision {
  decision: 'accepted' | 'declined' | 'pending_review';
  laneId: string | null;
  reasons: TenderReason[];
}

const normalise = (place: string): string => place.trim().replace(/\s+/g, ' ').toLowerCase();

export function findLane(
  lanes: readonly LaneConfig[],
  origin: string,
  destination: string,
): LaneConfig | undefined {
  const o = normalise(origin);
  const d = normalise(destination);
  return lanes.find(
    (l) =>
      (normalise(l.origin) === o && normalise(l.destination) === d) ||
      (l.bidirectional && normalise(l.origin) === d && normalise(l.destination) === o),
  );
}

export type DecisionConfig = Pick<GatewayConfig, 'lanes' | 'tendering'> &
  Partial<Pick<GatewayConfig, 'fleet' | 'tenderEngine'>>;

/** What the engine reads besides the request: trucks already booked in the tender's window. */
export interface DecisionContext {
  bookedInWindow: number;
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Does [start, end] contain a minute of the daily operating hours (UTC)? Windows over a day always do. */
export function overlapsOperatingHours(
  start: number,
  end: number,
  hours: { start: string; end: string },
): boolean {
  const open = minutesOf(hours.start);
  const close = minutesOf(hours.end);
  if (open === close || (open === 0 && close === 1440)) return true;
  if (end - start >= 86_400_000) return true;
  const inHours = (minute: number) =>
    open < close ? minute >= open && minute < close : minute >= open || minute < close;
  // Step through the window a minute at a time (at most 1,440 steps: the window is shorter than a day).
  for (let t = start; t <= end; t += 60_000) {
    const d = new Date(t);
    if (inHours(d.getUTCHours() * 60 + d.getUTCMinutes())) return true;
  }
  return false;
}

function stopsInvalid(request: TenderRequest): boolean {
  const stops = request.stops;
  if (stops === undefined) return false;
  if (stops.length < 2 || stops[0]?.type !== 'pickup' || stops.at(-1)?.type !== 'delivery') return true;
  let previous = Number.NEGATIVE_INFINITY;
  for (const stop of stops) {
    const start = Date.parse(stop.window.start);
    const end = Date.parse(stop.window.end);
    if (!(start <= end) || start < previous) return true;
    previous = start;
  }
  return false;
}

export function decideTender(
  request: TenderRequest,
  config: DecisionConfig,
  now: Date,
  context: DecisionContext = { bookedInWindow: 0 },
): TenderDecision {
  const engine: TenderEngineConfig = config.tenderEngine ?? defaultTenderEngineConfig();
  const reasons: TenderReason[] = [];
  const lane = findLane(config.lanes, request.origin, request.destination);
  if (lane === undefined) reasons.push('LANE_NOT_SERVED');
  else if (!lane.equipment.includes(request.equipment)) reasons.push('EQUIPMENT_NOT_SUPPORTED');
  else if (!engine.oddEquipment.includes(request.equipment)) reasons.push('ODD_EQUIPMENT');
  if (request.hazmat && !config.tendering.hazmatAllowed) reasons.push('HAZMAT_NOT_ALLOWED');
  if (request.weightKg > config.tendering.maxWeightKg) reasons.push('OVERWEIGHT');
  const start = Date.parse(request.pickupWindow.start);
  const end = Date.parse(request.pickupWindow.end);
  const deliverBy = Date.parse(request.deliverBy);
  const windowValid = start < end && end < deliverBy;
  if (!windowValid) reasons.push('WINDOW_INVALID');
  else if (end < now.getTime()) reasons.push('WINDOW_IN_PAST');
  if (stopsInvalid(request)) reasons.push('STOPS_INVALID');
  if (windowValid && !overlapsOperatingHours(start, end, engine.operatingHours)) reasons.push('ODD_HOURS');

  const distanceKm = lane === undefined ? undefined : engine.laneDistanceKm[lane.id];
  const review: TenderReason[] = [];
  if (windowValid && lane !== undefined) {
    if (distanceKm === undefined) review.push('REVIEW_LANE_DISTANCE_UNKNOWN');
    else {
      const slackMs = deliverBy - start - (distanceKm / engine.averageSpeedKmh) * 3_600_000;
      if (slackMs < 0) reasons.push('WINDOW_INFEASIBLE');
      else if (slackMs < engine.reviewSlackMinutes * 60_000) review.push('REVIEW_WINDOW_TIGHT');
    }
    const horizon = engine.planningHorizonDays;
    if (horizon !== null && start - now.getTime() > horizon * 86_400_000)
      review.push('REVIEW_BEYOND_HORIZON');
  }
  // Capacity matters only for freight the fleet could otherwise take: a tender declined for what it is
  // is not also declined for the fleet's load.
  const fleetSize = engine.fleetSize ?? config.fleet?.vehicles.length ?? Number.POSITIVE_INFINITY;
  if (reasons.length === 0 && context.bookedInWindow >= fleetSize) reasons.push('CAPACITY_EXHAUSTED');
  if (reasons.length > 0) return { decision: 'declined', laneId: lane?.id ?? null, reasons };
  if (review.length > 0) return { decision: 'pending_review', laneId: lane?.id ?? null, reasons: review };
  return { decision: 'accepted', laneId: lane?.id ?? null, reasons: ['LANE_SERVED'] };
}
