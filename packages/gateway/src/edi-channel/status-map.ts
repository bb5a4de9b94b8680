/**
 * What a tender's lifecycle change tells an EDI partner (docs/tendering.md "Outbound 990/214 and the
 * outbox"): a decision is a 990 (accepted → A, declined → D with the reason codes), a fleet status is a
 * 214 whose AT701/AT702 come from the closed lists the codec sends. Pure. Statuses the partner caused
 * (cancelled) or that decide nothing yet (received, pending_review) send nothing.
 */
import type { ShipmentStatusCode, StatusReasonCode } from '../edi/generate-214.ts';
import type { TenderStatus } from '../tendering/lifecycle.ts';
import type { LifecycleChange } from '../tendering/lifecycle-feed.ts';

export type OutboundPlan =
  | { type: '990'; decision: 'accept' | 'decline'; reasons: string[] }
  | { type: '214'; status: ShipmentStatusCode; reason: StatusReasonCode };

const s214 = (status: ShipmentStatusCode, reason: StatusReasonCode = 'NS'): OutboundPlan => ({
  type: '214',
  status,
  reason,
});

/** Lifecycle status → the 214s it sends, in order (docs/tendering.md, table "Lifecycle → AT7"). */
export const STATUS_214: Readonly<Partial<Record<TenderStatus, readonly OutboundPlan[]>>> = {
  // A truck is assigned: the pick-up appointment (the tender's window) is confirmed.
  dispatched: [s214('AA')],
  at_pickup: [s214('X3')],
  // Loading completed, then departed the pick-up location.
  loaded: [s214('CP'), s214('AF')],
  in_transit: [s214('X6')],
  at_delivery: [s214('X1')],
  delivered: [s214('D1')],
  delayed: [s214('SD', 'AJ')],
  // The fail-safe brought the truck to a minimal-risk stop: delayed, vehicle-related.
  safe_stopped: [s214('SD', 'AI')],
  // A human carrier finishes the load: delayed, other carrier-related; no further 214 from us.
  handed_to_human_carrier: [s214('SD', 'AJ')],
};

const REASON_CODE = /^[A-Z0-9_]{1,30}$/;

export function plansFor(change: LifecycleChange): readonly OutboundPlan[] {
  if (change.to === 'accepted') return [{ type: '990', decision: 'accept', reasons: [] }];
  if (change.to === 'declined') {
    // The engine's decision carries its reason codes; an operator's carries free text, so it is sent as
    // the operator's code (the text itself stays in the audit log).
    const engine = change.from === 'received';
    const codes = engine ? (change.reason ?? '').split(' ').filter((r) => REASON_CODE.test(r)) : [];
    const reasons = codes.length > 0 ? codes.slice(0, 10) : [engine ? 'DECLINED' : 'OPERATOR_DECLINED'];
    return [{ type: '990', decision: 'decline', reasons }];
  }
  return STATUS_214[change.to] ?? [];
}
