/**
 * The automatic tender decision (this slice: lanes, equipment, hazmat, weight, windows). Pure and
 * deterministic so that a decision can be re-derived from the audited request. Every outcome carries
 * reason codes (docs/tendering.md); the full engine (ODD hours, capacity, human review) grows here.
 */
import type { GatewayConfig, LaneConfig } from '../config/config.ts';

export interface TenderRequest {
  reference: string;
  origin: string;
  destination: string;
  equipment: string;
  weightKg: number;
  hazmat: boolean;
  pickupWindow: { start: string; end: string };
  deliverBy: string;
}

export type TenderReason =
  | 'LANE_SERVED'
  | 'LANE_NOT_SERVED'
  | 'EQUIPMENT_NOT_SUPPORTED'
  | 'HAZMAT_NOT_ALLOWED'
  | 'OVERWEIGHT'
  | 'WINDOW_INVALID'
  | 'WINDOW_IN_PAST';

export const TENDER_REASONS: readonly TenderReason[] = [
  'LANE_SERVED',
  'LANE_NOT_SERVED',
  'EQUIPMENT_NOT_SUPPORTED',
  'HAZMAT_NOT_ALLOWED',
  'OVERWEIGHT',
  'WINDOW_INVALID',
  'WINDOW_IN_PAST',
];

export interface TenderDecision {
  decision: 'accepted' | 'declined';
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

export function decideTender(
  request: TenderRequest,
  config: Pick<GatewayConfig, 'lanes' | 'tendering'>,
  now: Date,
): TenderDecision {
  const reasons: TenderReason[] = [];
  const lane = findLane(config.lanes, request.origin, request.destination);
  if (lane === undefined) reasons.push('LANE_NOT_SERVED');
  else if (!lane.equipment.includes(request.equipment)) reasons.push('EQUIPMENT_NOT_SUPPORTED');
  if (request.hazmat && !config.tendering.hazmatAllowed) reasons.push('HAZMAT_NOT_ALLOWED');
  if (request.weightKg > config.tendering.maxWeightKg) reasons.push('OVERWEIGHT');
  const start = Date.parse(request.pickupWindow.start);
  const end = Date.parse(request.pickupWindow.end);
  const deliverBy = Date.parse(request.deliverBy);
  if (!(start < end && end < deliverBy)) reasons.push('WINDOW_INVALID');
  else if (end < now.getTime()) reasons.push('WINDOW_IN_PAST');
  if (reasons.length > 0) return { decision: 'declined', laneId: lane?.id ?? null, reasons };
  return { decision: 'accepted', laneId: lane?.id ?? null, reasons: ['LANE_SERVED'] };
}
