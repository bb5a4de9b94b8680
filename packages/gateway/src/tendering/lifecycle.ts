/**
 * The tender lifecycle state machine (issue 6; docs/tendering.md "Lifecycle"): one transition table, and
 * a pure `transition()` that answers the next state or undefined. Nothing else in the gateway decides
 * whether a status change is legal, so a forged fleet event, a partner cancelling freight already on a
 * truck, or a replayed decision cannot move a tender where the table does not allow (a coded 409).
 *
 *   received → accepted | declined | pending_review          (the decision engine)
 *   pending_review → accepted | declined                     (an operator, with a reason)
 *   accepted ⇄ declined                                      (an operator override, with a reason)
 *   accepted → dispatched → at_pickup → loaded → in_transit → at_delivery → delivered
 *   dispatched … at_delivery → delayed | safe_stopped | handed_to_human_carrier   (exceptions)
 *   delayed | safe_stopped → (resumed) the status held before the exception; delayed → safe_stopped;
 *   delayed | safe_stopped → handed_to_human_carrier
 *   received | pending_review | accepted | dispatched | at_pickup → cancelled (the partner)
 *   delivered, cancelled, handed_to_human_carrier are final.
 */

export const TENDER_STATUSES = [
  'received',
  'accepted',
  'declined',
  'pending_review',
  'dispatched',
  'at_pickup',
  'loaded',
  'in_transit',
  'at_delivery',
  'delivered',
  'cancelled',
  'delayed',
  'safe_stopped',
  'handed_to_human_carrier',
] as const;
export type TenderStatus = (typeof TENDER_STATUSES)[number];

/** Fleet-side events (POST /v1/tenders/{id}/events): each names the status it moves to, or resumes. */
export const FLEET_EVENTS = [
  'dispatched',
  'at_pickup',
  'loaded',
  'in_transit',
  'at_delivery',
  'delivered',
  'delayed',
  'safe_stopped',
  'handed_to_human_carrier',
  'resumed',
] as const;
export type FleetEvent = (typeof FLEET_EVENTS)[number];

/** Every event the machine knows: the engine's decision, operator decisions, fleet events, cancellation. */
export type TenderEvent = 'accept' | 'decline' | 'review' | 'cancel' | FleetEvent;

export const TENDER_EVENTS: readonly TenderEvent[] = [
  'accept',
  'decline',
  'review',
  'cancel',
  ...FLEET_EVENTS,
];

export interface LifecycleState {
  status: TenderStatus;
  /** The in-progress status held when an exception (delayed, safe_stopped) began; null otherwise. */
  resumeStatus: TenderStatus | null;
}

/** Statuses a truck is working the load in: where exceptions may start. */
export const IN_PROGRESS: readonly TenderStatus[] = [
  'dispatched',
  'at_pickup',
  'loaded',
  'in_transit',
  'at_delivery',
];
export const FINAL: readonly TenderStatus[] = ['delivered', 'cancelled', 'handed_to_human_carrier'];

/** Plain moves: from → event → to (exceptions and resumption are handled below, they carry state). */
const MOVES: Readonly<Partial<Record<TenderStatus, Partial<Record<TenderEvent, TenderStatus>>>>> = {
  received: { accept: 'accepted', decline: 'declined', review: 'pending_review', cancel: 'cancelled' },
  pending_review: { accept: 'accepted', decline: 'declined', cancel: 'cancelled' },
  accepted: { decline: 'declined', dispatched: 'dispatched', cancel: 'cancelled' },
  declined: { accept: 'accepted' },
  dispatched: { at_pickup: 'at_pickup', cancel: 'cancelled' },
  at_pickup: { loaded: 'loaded', cancel: 'cancelled' },
  loaded: { in_transit: 'in_transit' },
  in_transit: { at_delivery: 'at_delivery' },
  at_delivery: { delivered: 'delivered' },
};

/** The next state after `event`, or undefined when the table does not allow it. Pure. */
export function transition(state: LifecycleState, event: TenderEvent): LifecycleState | undefined {
  const { status } = state;
  if (FINAL.includes(status)) return undefined;
  if (IN_PROGRESS.includes(status)) {
    if (event === 'delayed' || event === 'safe_stopped') return { status: event, resumeStatus: status };
    if (event === 'handed_to_human_carrier') return { status: event, resumeStatus: null };
  }
  if (status === 'delayed' || status === 'safe_stopped') {
    if (state.resumeStatus === null || !IN_PROGRESS.includes(state.resumeStatus)) return undefined;
    if (event === 'resumed') return { status: state.resumeStatus, resumeStatus: null };
    if (event === 'handed_to_human_carrier') return { status: event, resumeStatus: null };
    if (status === 'delayed' && event === 'safe_stopped')
      return { status: event, resumeStatus: state.resumeStatus };
    return undefined;
  }
  const to = MOVES[status]?.[event];
  return to === undefined ? undefined : { status: to, resumeStatus: null };
}

export function isTenderStatus(value: string): value is TenderStatus {
  return (TENDER_STATUSES as readonly string[]).includes(value);
}
