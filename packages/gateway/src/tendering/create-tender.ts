/**
 * Creates a tender for the authenticated partner: decide, then store the tender and sequence its audit
 * entry in one transaction, so the response's receipt (the audit index) names an entry that exists.
 * Tenant and partner come from the certificate, never from the body (no mass assignment).
 */
import { randomUUID } from 'node:crypto';
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { canonicalJson } from '../audit/canonical-json.ts';
import type { AuditLog } from '../audit/log.ts';
import type { GatewayConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Store } from '../store/store.ts';
import { decideTender, type TenderDecision, type TenderRequest } from './decide.ts';

export interface TenderPartner {
  id: string;
  tenant: string;
  certSha256: string;
}

export interface TenderResult extends TenderDecision {
  id: string;
  reference: string;
  receipt: { logOrigin: string; auditIndex: number };
}

export interface TenderDeps {
  store: Store;
  audit: AuditLog;
  config: Pick<GatewayConfig, 'lanes' | 'tendering'>;
  now: () => Date;
}

export async function createTender(
  deps: TenderDeps,
  partner: TenderPartner,
  request: TenderRequest,
): Promise<TenderResult> {
  const now = deps.now();
  const decision = decideTender(request, deps.config, now);
  const id = `tnd_${randomUUID()}`;
  const requestSha256 = sha256(
    utf8(canonicalJson({ ...request, pickupWindow: { ...request.pickupWindow } })),
  );
  return deps.store.transaction(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO tenders (id, partner_id, tenant_id, reference, origin, destination, lane_id, equipment, weight_kg,
         hazmat, pickup_start, pickup_end, delivery_end, status, reason_codes, request_sha256, audit_index)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, -1)
       ON CONFLICT (partner_id, reference) DO NOTHING RETURNING id`,
      [
        id,
        partner.id,
        partner.tenant,
        request.reference,
        request.origin,
        request.destination,
        decision.laneId,
        request.equipment,
        request.weightKg,
        request.hazmat,
        new Date(request.pickupWindow.start),
        new Date(request.pickupWindow.end),
        new Date(request.deliverBy),
        decision.decision,
        decision.reasons,
        requestSha256,
      ],
    );
    if (inserted.length === 0)
      throw new GatewayError('TENDER_DUPLICATE_REFERENCE', `reference ${request.reference}`);
    const receipt = await deps.audit.appendInTx(tx, {
      class: 'tender.decided',
      actor: { kind: 'partner', id: partner.id, certSha256: partner.certSha256 },
      subject: { kind: 'tender', id },
      outcome: decision.decision,
      reasons: decision.reasons,
      details: {
        tenant: partner.tenant,
        reference: request.reference,
        laneId: decision.laneId,
        requestSha256: toHex(requestSha256),
      },
    });
    await tx.query('UPDATE tenders SET audit_index = $2 WHERE id = $1', [id, String(receipt.index)]);
    return {
      id,
      reference: request.reference,
      ...decision,
      receipt: { logOrigin: deps.audit.origin, auditIndex: receipt.index },
    };
  });
}

export interface TenderView {
  id: string;
  reference: string;
  status: string;
  reasonCodes: string[];
  laneId: string | null;
  origin: string;
  destination: string;
  equipment: string;
  createdAt: string;
  receipt: { auditIndex: number };
}

export async function getTender(store: Store, partnerId: string, id: string): Promise<TenderView> {
  const [row] = await store.query<{
    id: string;
    reference: string;
    status: string;
    reason_codes: string[];
    lane_id: string | null;
    origin: string;
    destination: string;
    equipment: string;
    created_at: Date;
    audit_index: string;
  }>(
    `SELECT id, reference, status, reason_codes, lane_id, origin, destination, equipment, created_at, audit_index
     FROM tenders WHERE id = $1 AND partner_id = $2`,
    [id, partnerId],
  );
  // Another partner's tender is indistinguishable from a missing one (no existence oracle, API1).
  if (row === undefined) throw new GatewayError('TENDER_NOT_FOUND');
  return {
    id: row.id,
    reference: row.reference,
    status: row.status,
    reasonCodes: row.reason_codes,
    laneId: row.lane_id,
    origin: row.origin,
    destination: row.destination,
    equipment: row.equipment,
    createdAt: row.created_at.toISOString(),
    receipt: { auditIndex: Number(row.audit_index) },
  };
}
