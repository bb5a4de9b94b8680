/**
 * Moves a tender through its lifecycle (lifecycle.ts; docs/tendering.md "Lifecycle"): a partner's
 * cancellation (POST /v1/tenders/{id}/cancel, tenant-scoped), a fleet event from an operator
 * (POST /v1/tenders/{id}/events) and an operator's decision on the review queue or override of a decision
 * (POST /v1/review/tenders/{id}/decision, both cross-tenant, admin scope). In one transaction: lock the
 * row, ask the transition table, update the status, append the timestamped history row, keep the capacity
 * booking in step, and sequence the audit entry whose index becomes the tender's receipt. A transition the
 * table refuses is audited (`tender.transition-refused`) and answered 409 TENDER_TRANSITION_ILLEGAL; an
 * operator decision without a reason is audited and refused (422 TENDER_REASON_REQUIRED).
 *
 * Threat: a forged or replayed status change (freight "delivered" that never moved, a cancellation of a
 * load already on a truck) and an operator override nobody can explain afterwards.
 */
import type { AuditClass } from '../audit/event.ts';
import type { AuditLog } from '../audit/log.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Queryable, Store } from '../store/store.ts';
import type { TenderReason } from './decide.ts';
import { appendHistory, loadForUpdate, syncBooking, type TenderView, toView } from './internal/record.ts';
import { isTenderStatus, type TenderEvent, transition } from './lifecycle.ts';
import { withOperator, withTenant } from './tenant-scope.ts';

export interface TransitionDeps {
  store: Store;
  audit: AuditLog;
  now: () => Date;
  /** Vehicles of the fleet: a dispatch must name one. */
  fleetVehicles: readonly string[];
}

export interface TransitionActor {
  kind: 'partner' | 'operator';
  id: string;
  certSha256: string;
  /** A partner's tenant: its transitions are scoped to it; operators act across tenants. */
  tenant?: string;
}

export interface TransitionRequest {
  event: TenderEvent;
  reason?: string;
  vehicleId?: string;
  /** The fleet's load id on the truck's telemetry; default the tender id. */
  loadId?: string;
  /** When it happened on the fleet side; default now. */
  occurredAt?: string;
}

const OPERATOR_DECISIONS: readonly TenderEvent[] = ['accept', 'decline'];

function auditClassOf(from: string, event: TenderEvent): AuditClass {
  if (!OPERATOR_DECISIONS.includes(event)) return 'tender.transitioned';
  return from === 'pending_review' ? 'tender.reviewed' : 'tender.overridden';
}

type Step = { ok: true; view: TenderView } | { ok: false; code: 'TENDER_TRANSITION_ILLEGAL'; from: string };

export async function transitionTender(
  deps: TransitionDeps,
  actor: TransitionActor,
  tenderId: string,
  request: TransitionRequest,
): Promise<TenderView> {
  const now = deps.now();
  const reason = request.reason?.trim();
  const refuse = async (
    code: 'TENDER_TRANSITION_ILLEGAL' | 'TENDER_REASON_REQUIRED',
    from: string | null,
  ) => {
    await deps.audit.append({
      class: 'tender.transition-refused',
      actor: { kind: actor.kind, id: actor.id, certSha256: actor.certSha256 },
      subject: { kind: 'tender', id: tenderId },
      outcome: 'rejected',
      reasons: [code],
      details: { event: request.event, from },
    });
    throw new GatewayError(code, from === null ? undefined : `${request.event} from ${from}`);
  };
  if (OPERATOR_DECISIONS.includes(request.event) && (reason === undefined || reason.length === 0)) {
    return refuse('TENDER_REASON_REQUIRED', null);
  }
  if (request.event === 'dispatched') {
    if (request.vehicleId === undefined || !deps.fleetVehicles.includes(request.vehicleId))
      throw new GatewayError('TENDER_VEHICLE_UNKNOWN');
  }
  const step = async (tx: Queryable): Promise<Step> => {
    const row = await loadForUpdate(tx, tenderId);
    // A partner only ever reaches its own tenders (row-level security and this filter): another
    // partner's tender is missing, never "forbidden".
    if (row === undefined || (actor.kind === 'partner' && row.partner_id !== actor.id))
      throw new GatewayError('TENDER_NOT_FOUND');
    if (!isTenderStatus(row.status))
      return { ok: false, code: 'TENDER_TRANSITION_ILLEGAL', from: row.status };
    const resume = row.resume_status !== null && isTenderStatus(row.resume_status) ? row.resume_status : null;
    const next = transition({ status: row.status, resumeStatus: resume }, request.event);
    if (next === undefined) return { ok: false, code: 'TENDER_TRANSITION_ILLEGAL', from: row.status };
    const decisionReasons: TenderReason[] | null =
      request.event === 'accept'
        ? ['OPERATOR_ACCEPTED']
        : request.event === 'decline'
          ? ['OPERATOR_DECLINED']
          : null;
    const occurredAt = request.occurredAt === undefined ? now : new Date(request.occurredAt);
    const receipt = await deps.audit.appendInTx(tx, {
      class: auditClassOf(row.status, request.event),
      actor: { kind: actor.kind, id: actor.id, certSha256: actor.certSha256 },
      subject: { kind: 'tender', id: tenderId },
      outcome: next.status === 'accepted' ? 'accepted' : next.status === 'declined' ? 'declined' : 'recorded',
      reasons: decisionReasons ?? [request.event],
      details: {
        tenant: row.tenant_id,
        from: row.status,
        to: next.status,
        event: request.event,
        ...(reason === undefined ? {} : { reason }),
        ...(request.vehicleId === undefined ? {} : { vehicleId: request.vehicleId }),
        occurredAt: occurredAt.toISOString(),
      },
    });
    const dispatch = request.event === 'dispatched';
    const [updated] = await tx.query<Parameters<typeof toView>[0] & Record<string, unknown>>(
      `UPDATE tenders SET status = $2, resume_status = $3, audit_index = $4, updated_at = $5,
         vehicle_id = CASE WHEN $6 THEN $7 ELSE vehicle_id END,
         load_id = CASE WHEN $6 THEN $8 ELSE load_id END,
         reason_codes = COALESCE($9::text[], reason_codes),
         decided_by = CASE WHEN $9::text[] IS NULL THEN decided_by ELSE 'operator' END
       WHERE id = $1 RETURNING *`,
      [
        tenderId,
        next.status,
        next.resumeStatus,
        String(receipt.index),
        now,
        dispatch,
        request.vehicleId ?? null,
        request.loadId ?? tenderId,
        decisionReasons,
      ],
    );
    await appendHistory(tx, {
      tenderId,
      tenant: row.tenant_id,
      from: row.status,
      to: next.status,
      event: request.event,
      actor: { kind: actor.kind, id: actor.id },
      reason: reason ?? null,
      occurredAt,
      recordedAt: now,
      auditIndex: receipt.index,
    });
    await syncBooking(
      tx,
      { id: tenderId, pickupStart: row.pickup_start, deliverBy: row.delivery_end },
      next.status,
    );
    if (updated === undefined) throw new GatewayError('TENDER_NOT_FOUND');
    return { ok: true, view: toView(updated, deps.audit.origin) };
  };
  const result =
    actor.kind === 'partner' && actor.tenant !== undefined
      ? await withTenant(deps.store, actor.tenant, step)
      : actor.kind === 'operator'
        ? await withOperator(deps.store, step)
        : undefined;
  if (result === undefined) throw new GatewayError('TENDER_NOT_FOUND');
  if (!result.ok) return refuse(result.code, result.from);
  return result.view;
}
