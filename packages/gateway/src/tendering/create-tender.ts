/**
 * Creates a tender for the authenticated partner (issue 6; docs/tendering.md): in one transaction scoped
 * to the partner's tenant (row-level security, tenant-scope.ts) — replay or refuse a known
 * Idempotency-Key, count the fleet's bookings in the window, decide, store the tender with its status
 * history (received → decision), book a truck when accepted, and sequence the audit entry — so the
 * response's receipt (the audit index) names an entry that exists. Tender creation is serialised by a
 * transaction-scoped advisory lock, so the capacity count and the key lookup cannot race.
 * Tenant and partner come from the verified token and certificate, never from the body (no mass
 * assignment).
 */
import type { AuditLog } from '../audit/log.ts';
import type { GatewayConfig } from '../config/config.ts';
import { defaultTenderEngineConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Queryable, Store } from '../store/store.ts';
import { decideTender, type TenderDecision, type TenderRequest } from './decide.ts';
import { lookupIdempotencyKey, requestDigest, saveIdempotencyKey } from './idempotency.ts';
import { appendHistory, bookedInWindow, newTenderId, type Receipt, syncBooking } from './internal/record.ts';
import { withTenant } from './tenant-scope.ts';

export interface TenderPartner {
  id: string;
  tenant: string;
  certSha256: string;
}

export interface TenderResult extends TenderDecision {
  id: string;
  reference: string;
  receipt: Receipt;
}

export interface TenderDeps {
  store: Store;
  audit: AuditLog;
  config: Pick<GatewayConfig, 'lanes' | 'tendering'> & Partial<Pick<GatewayConfig, 'fleet' | 'tenderEngine'>>;
  now: () => Date;
}

/** The 201 body of POST /v1/tenders (also what an Idempotency-Key replays). */
export interface CreatedTender {
  id: string;
  reference: string;
  status: TenderDecision['decision'];
  reasonCodes: string[];
  laneId: string | null;
  receipt: Receipt;
}

export type CreateOutcome =
  | { replayed: false; result: TenderResult }
  | { replayed: true; body: CreatedTender };

const CREATE_LOCK_KEY = 0x666c746e; // 'fltn'

export function createdBody(result: TenderResult): CreatedTender {
  return {
    id: result.id,
    reference: result.reference,
    status: result.decision,
    reasonCodes: result.reasons,
    laneId: result.laneId,
    receipt: result.receipt,
  };
}

export async function createTender(
  deps: TenderDeps,
  partner: TenderPartner,
  request: TenderRequest,
): Promise<TenderResult> {
  const outcome = await createTenderIdempotent(deps, partner, request, undefined);
  if (outcome.replayed) throw new Error('unreachable: no idempotency key');
  return outcome.result;
}

export async function createTenderIdempotent(
  deps: TenderDeps,
  partner: TenderPartner,
  request: TenderRequest,
  idempotencyKey: string | undefined,
): Promise<CreateOutcome> {
  const now = deps.now();
  const digest = requestDigest(request);
  const outcome = await withTenant(deps.store, partner.tenant, (tx) =>
    createTenderInTx(deps, tx, partner, request, idempotencyKey, now),
  );
  if ('conflict' in outcome) {
    await deps.audit.append({
      class: 'tender.idempotency-conflict',
      actor: { kind: 'partner', id: partner.id, certSha256: partner.certSha256 },
      subject: { kind: 'idempotency-key', id: requestDigest(idempotencyKey ?? '') },
      outcome: 'rejected',
      reasons: ['TENDER_IDEMPOTENCY_KEY_REUSED'],
      details: { tenant: partner.tenant, requestSha256: digest },
    });
    throw new GatewayError('TENDER_IDEMPOTENCY_KEY_REUSED');
  }
  return outcome;
}

/**
 * The body of createTenderIdempotent inside a transaction the caller opened with withTenant(partner's
 * tenant) — for the EDI channel, which records the interchange in the same transaction as its tenders.
 * `{ conflict: true }`: the key was used with another request (the caller audits and refuses).
 */
export async function createTenderInTx(
  deps: TenderDeps,
  tx: Queryable,
  partner: TenderPartner,
  request: TenderRequest,
  idempotencyKey: string | undefined,
  now: Date,
): Promise<CreateOutcome | { conflict: true }> {
  const digest = requestDigest(request);
  const engine = deps.config.tenderEngine ?? defaultTenderEngineConfig();
  await tx.query('SELECT pg_advisory_xact_lock($1)', [CREATE_LOCK_KEY]);
  if (idempotencyKey !== undefined) {
    const known = await lookupIdempotencyKey(tx, partner.id, idempotencyKey, digest, now);
    if (known.kind === 'conflict') return { conflict: true };
    if (known.kind === 'replay') return { replayed: true, body: known.response.body as CreatedTender };
  }
  const pickupStart = new Date(request.pickupWindow.start);
  const deliverBy = new Date(request.deliverBy);
  const booked = pickupStart < deliverBy ? await bookedInWindow(tx, pickupStart, deliverBy) : 0;
  const decision = decideTender(request, deps.config, now, { bookedInWindow: booked });
  const id = newTenderId(now);
  const { reference, stops, rate, references } = request;
  const inserted = await tx.query(
    `INSERT INTO tenders (id, partner_id, tenant_id, reference, origin, destination, lane_id, equipment,
       weight_kg, hazmat, pickup_start, pickup_end, delivery_end, status, reason_codes, request_sha256,
       audit_index, request_json, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, decode($16, 'hex'), -1, $17,
       $18, $18)
     ON CONFLICT (partner_id, reference) DO NOTHING RETURNING id`,
    [
      id,
      partner.id,
      partner.tenant,
      reference,
      request.origin,
      request.destination,
      decision.laneId,
      request.equipment,
      request.weightKg,
      request.hazmat,
      pickupStart,
      new Date(request.pickupWindow.end),
      deliverBy,
      decision.decision,
      decision.reasons,
      digest,
      JSON.stringify({ stops, rate, references }),
      now,
    ],
  );
  if (inserted.length === 0) throw new GatewayError('TENDER_DUPLICATE_REFERENCE', `reference ${reference}`);
  const receipt = await deps.audit.appendInTx(tx, {
    class: 'tender.decided',
    actor: { kind: 'partner', id: partner.id, certSha256: partner.certSha256 },
    subject: { kind: 'tender', id },
    outcome: decision.decision === 'pending_review' ? 'recorded' : decision.decision,
    reasons: decision.reasons,
    details: {
      tenant: partner.tenant,
      reference,
      laneId: decision.laneId,
      status: decision.decision,
      bookedInWindow: booked,
      requestSha256: digest,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey: requestDigest(idempotencyKey) }),
    },
  });
  await tx.query('UPDATE tenders SET audit_index = $2 WHERE id = $1', [id, String(receipt.index)]);
  const actor = { kind: 'partner', id: partner.id } as const;
  const base = { tenderId: id, tenant: partner.tenant, actor, occurredAt: now, recordedAt: now };
  await appendHistory(tx, {
    ...base,
    from: null,
    to: 'received',
    event: 'tendered',
    reason: null,
    auditIndex: receipt.index,
  });
  await appendHistory(tx, {
    ...base,
    from: 'received',
    to: decision.decision,
    event:
      decision.decision === 'accepted' ? 'accept' : decision.decision === 'declined' ? 'decline' : 'review',
    reason: decision.reasons.join(' '),
    auditIndex: receipt.index,
  });
  if (decision.decision === 'accepted') await syncBooking(tx, { id, pickupStart, deliverBy }, 'accepted');
  const result: TenderResult = {
    id,
    reference,
    ...decision,
    receipt: { logOrigin: deps.audit.origin, auditIndex: receipt.index },
  };
  if (idempotencyKey !== undefined) {
    await saveIdempotencyKey(tx, {
      clientId: partner.id,
      tenant: partner.tenant,
      key: idempotencyKey,
      digest,
      response: { status: 201, body: createdBody(result) },
      tenderId: id,
      now,
      ttlSeconds: engine.idempotencyTtlSeconds,
    });
  }
  return { replayed: false, result };
}
