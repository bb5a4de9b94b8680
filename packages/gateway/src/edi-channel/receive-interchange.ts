/**
 * Receives one X12 interchange from an authenticated partner — uploaded over HTTPS or dropped in its
 * directory, the same code for both (issue 6 §6; docs/tendering.md "Transport", "Duplicates and the
 * sandbox"). In order:
 *   1. the partner must have an EDI identity in the configuration;
 *   2. the codec reads the file (parseInterchange: limits, tolerant tokenizer, strict envelope); a refusal
 *      is answered with the codec's code and, where the codec can build one, a 997 R;
 *   3. ISA05/ISA06 (and GS02 when configured) must be the authenticated partner, ISA07/ISA08 us — a
 *      partner cannot send EDI as another partner;
 *   4. in ONE transaction in the partner's tenant: the interchange is recorded under its sender and ISA13
 *      (a duplicate is refused, 409, and nothing is created), each 204 becomes a tender through the same
 *      path as POST /v1/tenders (the client's policy, then createTenderInTx with an idempotency key from
 *      ISA06, ISA13, GS06 and ST02), its EDI channel is stored for the 990 and 214s, the 997 goes to the
 *      outbox, and the interchange's audit entry is sequenced;
 *   5. cancellations (B2A01 01) then cancel the partner's OWN tender with that shipment id (B204), through
 *      transitionTender as the partner — another partner's reference is "not found", never touched.
 * ISA15 = T goes to the sandbox: everything is validated and the decision engine runs in dry run (no
 * tender, no booking, no lifecycle); the 997 and a 990 carry ISA15 = T and are marked sandbox. Sandbox
 * interchanges are rate-limited per partner (sandbox-limit.ts): the dry run reads real bookings.
 *
 * Threats: interchange replay (duplicate ISA13), impersonation of another partner's sender id, test
 * traffic reaching production, BOLA by reference (OWASP API1), hostile files (API4, API10: the codec).
 */
import { createHash } from 'node:crypto';
import { policyRefusedEvent, tenderPolicyViolation } from '../auth/policy/enforce-tender.ts';
import type { ClientPolicy } from '../auth/policy/policy.ts';
import type { PartnerEdiConfig } from '../config/config.ts';
import { type OutboundEnvelope, replyEnvelope } from '../edi/envelope.ts';
import { EdiError } from '../edi/errors.ts';
import { generateTenderResponse } from '../edi/generate-990.ts';
import { acknowledgeFailure, acknowledgeGroup, generateFunctionalAck } from '../edi/generate-997.ts';
import { DEFAULT_EDI_LIMITS } from '../edi/limits.ts';
import type { LoadTender, TenderPurpose } from '../edi/load-tender.ts';
import { parseLoadTender } from '../edi/parse-204.ts';
import { parseInterchange } from '../edi/parse-interchange.ts';
import { loadTenderToTenderRequest } from '../edi/to-tender-request.ts';
import { tokenizeX12 } from '../edi/tokenize.ts';
import type { FunctionalGroup, Interchange, TransactionSet } from '../edi/types.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayEvents } from '../events.ts';
import type { Queryable } from '../store/store.ts';
import { createTenderInTx, type TenderDeps } from '../tendering/create-tender.ts';
import { decideTender, type TenderRequest } from '../tendering/decide.ts';
import { bookedInWindow, type Receipt } from '../tendering/internal/record.ts';
import { withTenant } from '../tendering/tenant-scope.ts';
import { transitionTender } from '../tendering/transition-tender.ts';
import { type OutboundRef, storeOutbound } from './outbox.ts';
import { type SandboxLimiter, sandboxLimiterOf } from './sandbox-limit.ts';
import { type EdiSettings, partnerEdiOf, scacFor } from './settings.ts';

/** Who sends: from the verified token and certificate (upload), or the partner's directory (drop). */
export interface EdiSender {
  id: string;
  tenant: string;
  /** The connection's client certificate; empty for the drop directory (no TLS session). */
  certSha256: string;
  policy: ClientPolicy;
  /** The access token's jti, or "drop-directory". */
  tokenId: string;
}

export interface ReceiveDeps extends TenderDeps {
  settings: EdiSettings;
  fleetVehicles: readonly string[];
  events?: GatewayEvents;
  /** The sandbox limit; absent: one per store (the gateway's), from `edi.sandboxPerMinute`. */
  sandboxLimiter?: SandboxLimiter;
}

export type SetOutcome = 'created' | 'cancelled' | 'rejected' | 'refused' | 'not_found' | 'sandbox';

export interface SetResult {
  groupControlNumber: string;
  transactionSetId: string;
  setControlNumber: string;
  shipmentId: string | null;
  purpose: TenderPurpose | null;
  outcome: SetOutcome;
  tenderId: string | null;
  /** The engine's decision (a dry run in the sandbox), or cancelled. */
  decision: 'accepted' | 'declined' | 'pending_review' | 'cancelled' | null;
  /** Reason codes: the engine's, a policy or lifecycle refusal, or the codec's error code. */
  reasons: string[];
  receipt: Receipt | null;
}

export interface InterchangeResult {
  interchangeControlNumber: string;
  version: '4010' | '5010';
  sandbox: boolean;
  sets: SetResult[];
  /** The 997s (one per 204 group), also in the outbox. */
  acknowledgments: OutboundRef[];
  /** 990s sent at once: sandbox answers and policy refusals (a tender's 990 comes from its lifecycle). */
  tenderResponses: OutboundRef[];
  /** The interchange's own audit entry. */
  receipt: Receipt;
}

/** A refusal with what the partner may see beside the problem: the codec's code and the 997 R. */
export class EdiChannelError extends GatewayError {
  readonly ediCode: string | undefined;
  readonly acknowledgment: OutboundRef | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    extra: {
      ediCode?: string;
      acknowledgment?: OutboundRef | undefined;
      cause?: unknown;
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(code, detail, {
      ...(extra.cause === undefined ? {} : { cause: extra.cause }),
      ...(extra.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: extra.retryAfterSeconds }),
    });
    this.name = 'EdiChannelError';
    this.ediCode = extra.ediCode;
    this.acknowledgment = extra.acknowledgment;
  }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export async function receiveInterchange(
  deps: ReceiveDeps,
  sender: EdiSender,
  bytes: Uint8Array,
  source: 'upload' | 'drop',
): Promise<InterchangeResult> {
  const now = deps.now();
  const fileSha256 = sha256(bytes);
  const actor = { kind: 'partner' as const, id: sender.id, certSha256: sender.certSha256 };
  const refuse = async (
    code: ErrorCode,
    detail: string,
    details: Record<string, string>,
    build?: (tx: Queryable) => Promise<OutboundRef | undefined>,
  ): Promise<never> => {
    const acknowledgment = await withTenant(deps.store, sender.tenant, async (tx) => {
      const ack = build === undefined ? undefined : await build(tx);
      await deps.audit.appendInTx(tx, {
        class: 'edi.interchange.refused',
        actor,
        subject: { kind: 'edi-interchange', id: fileSha256 },
        outcome: 'rejected',
        reasons: [code, ...(details.ediCode === undefined ? [] : [details.ediCode])],
        details: { tenant: sender.tenant, source, fileSha256, ...details },
      });
      return ack;
    });
    throw new EdiChannelError(code, detail, {
      ...(details.ediCode === undefined ? {} : { ediCode: details.ediCode }),
      acknowledgment,
    });
  };

  const partnerEdi = partnerEdiOf(deps.settings, sender.id);
  if (partnerEdi === undefined) {
    return refuse('EDI_PARTNER_NOT_CONFIGURED', 'no partners[].edi for this partner', {});
  }
  const limits = { maxFileBytes: DEFAULT_EDI_LIMITS.maxFileBytes };
  let interchange: Interchange;
  try {
    interchange = parseInterchange(bytes, limits);
  } catch (error) {
    if (!(error instanceof EdiError)) throw error;
    // EdiError messages name the check and the position, never an element value: safe to show.
    return refuse(
      'EDI_INTERCHANGE_INVALID',
      `${error.code}: ${error.message}`,
      { ediCode: error.code, ...(error.location.segmentId ? { segmentId: error.location.segmentId } : {}) },
      (tx) => storeFailureAck(deps, tx, sender, partnerEdi, bytes, error, now),
    );
  }
  const ours = deps.settings.edi;
  const mismatch =
    interchange.sender.qualifier !== partnerEdi.isaQualifier || interchange.sender.id !== partnerEdi.isaId
      ? 'ISA05/ISA06'
      : interchange.receiver.qualifier !== ours.ourIsaQualifier || interchange.receiver.id !== ours.ourIsaId
        ? 'ISA07/ISA08'
        : partnerEdi.gsId !== undefined &&
            interchange.groups.some((g) => g.applicationSender !== partnerEdi.gsId)
          ? 'GS02'
          : undefined;
  if (mismatch !== undefined) {
    return refuse('EDI_SENDER_MISMATCH', `${mismatch} is not the configured identity`, { mismatch });
  }

  const usage = interchange.test ? 'T' : 'P';
  const icn = interchange.interchangeControlNumber;
  if (interchange.test) {
    // Before the transaction: a refused dry run reads no booking and records nothing (its ISA13 is free).
    const limiter = sandboxLimiterOf(deps);
    const taken = limiter.take(sender.id, now.getTime());
    if (!taken.ok) {
      if (taken.audit) {
        await deps.audit.append({
          class: 'edi.interchange.refused',
          actor,
          subject: { kind: 'edi-interchange', id: fileSha256 },
          outcome: 'rejected',
          reasons: ['EDI_SANDBOX_RATE_LIMITED'],
          details: {
            tenant: sender.tenant,
            source,
            fileSha256,
            perMinute: limiter.perMinute,
            note: 'further refusals in the next 60 s are not audited',
          },
        });
      }
      throw new EdiChannelError(
        'EDI_SANDBOX_RATE_LIMITED',
        `more than ${limiter.perMinute} sandbox interchanges in 60 s`,
        { retryAfterSeconds: taken.retryAfterSeconds },
      );
    }
  }
  const cancels: { index: number; tenderId: string | null }[] = [];
  const created: {
    tenderId: string;
    decision: 'accepted' | 'declined' | 'pending_review';
    reasons: string[];
  }[] = [];
  const outcome = await withTenant(deps.store, sender.tenant, async (tx) => {
    const recorded = await tx.query(
      `INSERT INTO edi_interchanges (tenant_id, sender_qualifier, sender_id, usage, control_number, partner_id,
         source, file_sha256, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING control_number`,
      [
        sender.tenant,
        interchange.sender.qualifier,
        interchange.sender.id,
        usage,
        icn,
        sender.id,
        source,
        fileSha256,
        now,
      ],
    );
    if (recorded.length === 0) return { duplicate: true as const };
    const sets: SetResult[] = [];
    const acknowledgments: OutboundRef[] = [];
    const tenderResponses: OutboundRef[] = [];
    const context: SetContext = { deps, tx, sender, partnerEdi, interchange, now, tenderResponses };
    for (const group of interchange.groups) {
      // Inbound 997, 990 and 214 pass the envelope check and are not acknowledged (a 997 is never
      // acknowledged, and 990/214 are not ours to receive).
      if (group.functionalId !== 'SM') continue;
      const errors = new Map<string, EdiError>();
      for (const set of group.transactionSets) {
        const r = await receiveSet(context, group, set);
        if (r.error !== undefined) errors.set(set.controlNumber, r.error);
        if (r.cancelTenderId !== undefined) cancels.push({ index: sets.length, tenderId: r.cancelTenderId });
        if (
          r.result.outcome === 'created' &&
          r.result.tenderId !== null &&
          r.result.decision !== 'cancelled'
        ) {
          created.push({
            tenderId: r.result.tenderId,
            decision: r.result.decision ?? 'pending_review',
            reasons: r.result.reasons,
          });
        }
        sets.push(r.result);
      }
      const ack = await storeOutbound(tx, {
        tenant: sender.tenant,
        partnerId: sender.id,
        type: '997',
        tenderId: null,
        sandbox: interchange.test,
        sourceId: `997:${sender.tenant}:${interchange.sender.qualifier}:${interchange.sender.id}:${usage}:${icn}:${group.controlNumber}`,
        envelope: withoutNumbers(
          replyEnvelope(interchange, group, { interchange: 1, group: 1, transactionSet: 1 }, now),
        ),
        generate: (env) => generateFunctionalAck(acknowledgeGroup(group, errors), env),
        now,
      });
      if (ack !== undefined) acknowledgments.push(ack);
    }
    const count = (o: SetOutcome) => sets.filter((s) => s.outcome === o).length;
    const audited = await deps.audit.appendInTx(tx, {
      class: interchange.test ? 'edi.interchange.sandbox' : 'edi.interchange.received',
      actor,
      subject: {
        kind: 'edi-interchange',
        id: `${interchange.sender.qualifier}:${interchange.sender.id}:${icn}`,
      },
      outcome: 'recorded',
      details: {
        tenant: sender.tenant,
        source,
        fileSha256,
        usage,
        version: interchange.version,
        sets: sets.length,
        created: count('created'),
        rejected: count('rejected'),
        refused: count('refused'),
        sandbox: count('sandbox'),
        cancellations: cancels.length,
      },
    });
    return { duplicate: false as const, sets, acknowledgments, tenderResponses, index: audited.index };
  });
  if (outcome.duplicate) {
    return refuse('EDI_INTERCHANGE_DUPLICATE', `ISA13 ${icn} of this sender was already received`, {
      controlNumber: icn,
      usage,
    });
  }
  for (const c of created) {
    if (c.decision !== 'pending_review') {
      deps.events?.emit('tender.decided', {
        partnerId: sender.id,
        tenderId: c.tenderId,
        decision: c.decision,
        reasons: c.reasons,
      });
    }
  }
  // Cancellations after the commit: transitionTender has its own transaction, audit entry and refusals.
  for (const c of cancels) await cancelOwnTender(deps, sender, c.tenderId, outcome.sets, c.index, icn);
  return {
    interchangeControlNumber: icn,
    version: interchange.version,
    sandbox: interchange.test,
    sets: outcome.sets,
    acknowledgments: outcome.acknowledgments,
    tenderResponses: outcome.tenderResponses,
    receipt: { logOrigin: deps.audit.origin, auditIndex: outcome.index },
  };
}

function withoutNumbers(envelope: OutboundEnvelope): Omit<OutboundEnvelope, 'controlNumbers'> {
  const { controlNumbers: _, ...rest } = envelope;
  return rest;
}

interface SetContext {
  deps: ReceiveDeps;
  tx: Queryable;
  sender: EdiSender;
  partnerEdi: PartnerEdiConfig;
  interchange: Interchange;
  now: Date;
  tenderResponses: OutboundRef[];
}

interface SetReceipt {
  result: SetResult;
  /** Rejects the set in the 997. */
  error?: EdiError;
  /** A cancellation to run after the commit (null: no own tender has this shipment id). */
  cancelTenderId?: string | null;
}

async function receiveSet(c: SetContext, group: FunctionalGroup, set: TransactionSet): Promise<SetReceipt> {
  const { deps, tx, sender, interchange, now } = c;
  const base: SetResult = {
    groupControlNumber: group.controlNumber,
    transactionSetId: set.id,
    setControlNumber: set.controlNumber,
    shipmentId: null,
    purpose: null,
    outcome: 'rejected',
    tenderId: null,
    decision: null,
    reasons: [],
    receipt: null,
  };
  const rejected = (error: EdiError, reason: string = error.code): SetReceipt => ({
    result: { ...base, reasons: [reason] },
    error,
  });
  let tender: LoadTender;
  try {
    tender = parseLoadTender(set, group, interchange.version);
  } catch (error) {
    if (error instanceof EdiError) return rejected(error);
    throw error;
  }
  const known = { ...base, shipmentId: tender.shipmentId, purpose: tender.purpose };
  if (tender.purpose === 'change' || tender.purpose === 'replace') {
    // Not supported: a change would need a diff against the tender as decided. The 997 rejects the set at
    // B2A01 (AK3/AK4) so the partner knows to cancel (01) and tender again.
    const at = set.body.findIndex((s) => s.id === 'B2A');
    const error = new EdiError(
      'EDI_UNMAPPABLE',
      'a change or replacement (B2A01 04, 05) is not supported: cancel (01) and tender again',
      { segmentId: 'B2A', segment: set.position + at + 1, segmentInSet: at + 2, element: 1 },
    );
    return { result: { ...known, reasons: ['EDI_CHANGE_NOT_SUPPORTED'] }, error };
  }
  if (tender.purpose === 'cancellation') {
    if (interchange.test)
      return { result: { ...known, outcome: 'sandbox', reasons: ['SANDBOX_NOT_APPLIED'] } };
    // Row-level security narrows this to the partner's tenant, and the filter to the partner itself: a
    // reference of another partner is simply not found.
    const [own] = await tx.query<{ id: string }>(
      'SELECT id FROM tenders WHERE partner_id = $1 AND reference = $2',
      [sender.id, tender.shipmentId],
    );
    return {
      result: { ...known, outcome: 'not_found', reasons: ['TENDER_NOT_FOUND'] },
      cancelTenderId: own?.id ?? null,
    };
  }
  let request: TenderRequest;
  try {
    request = loadTenderToTenderRequest(tender, { localTimeZone: c.partnerEdi.localTimeZone });
  } catch (error) {
    if (error instanceof EdiError) return rejected(error);
    throw error;
  }
  const violation = tenderPolicyViolation(sender.policy, request, deps.config.lanes);
  if (violation !== undefined) {
    await deps.audit.appendInTx(
      tx,
      policyRefusedEvent({ ...sender, clientId: sender.id }, request, violation),
    );
    await respond990(c, group, set, tender, 'decline', [violation.code]);
    return { result: { ...known, outcome: 'refused', reasons: [violation.code] } };
  }
  if (interchange.test) {
    // Dry run: the engine reads the fleet's bookings and decides; nothing is written.
    const start = new Date(request.pickupWindow.start);
    const end = new Date(request.deliverBy);
    const booked = start < end ? await bookedInWindow(tx, start, end) : 0;
    const decision = decideTender(request, deps.config, now, { bookedInWindow: booked });
    if (decision.decision !== 'pending_review') {
      await respond990(
        c,
        group,
        set,
        tender,
        decision.decision === 'accepted' ? 'accept' : 'decline',
        decision.decision === 'declined' ? decision.reasons : [],
      );
    }
    return {
      result: { ...known, outcome: 'sandbox', decision: decision.decision, reasons: decision.reasons },
    };
  }
  const partner = { id: sender.id, tenant: sender.tenant, certSha256: sender.certSha256 };
  const key = `x12:${interchange.sender.id.trim()}:${interchange.interchangeControlNumber}:${group.controlNumber}:${set.controlNumber}`;
  try {
    const made = await createTenderInTx(deps, tx, partner, request, key, now);
    if ('conflict' in made)
      return { result: { ...known, outcome: 'refused', reasons: ['TENDER_IDEMPOTENCY_KEY_REUSED'] } };
    const body = made.replayed
      ? made.body
      : {
          id: made.result.id,
          status: made.result.decision,
          reasonCodes: made.result.reasons,
          receipt: made.result.receipt,
        };
    if (!made.replayed) {
      await tx.query(
        `INSERT INTO edi_tenders (tender_id, tenant_id, partner_id, shipment_id, version, group_version,
           application_sender, interchange_control_number, group_control_number, set_control_number, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          body.id,
          sender.tenant,
          sender.id,
          tender.shipmentId,
          interchange.version,
          group.versionCode,
          group.applicationSender,
          interchange.interchangeControlNumber,
          group.controlNumber,
          set.controlNumber,
          now,
        ],
      );
    }
    return {
      result: {
        ...known,
        outcome: 'created',
        tenderId: body.id,
        decision: body.status,
        reasons: [...body.reasonCodes],
        receipt: body.receipt,
      },
    };
  } catch (error) {
    // Nothing was written before this refusal (the insert found the reference and did nothing).
    if (error instanceof GatewayError && error.code === 'TENDER_DUPLICATE_REFERENCE') {
      return { result: { ...known, outcome: 'refused', reasons: ['TENDER_DUPLICATE_REFERENCE'] } };
    }
    throw error;
  }
}

/** A 990 sent at once (sandbox, policy refusal), in the received interchange's envelope (ISA15 kept). */
async function respond990(
  c: SetContext,
  group: FunctionalGroup,
  set: TransactionSet,
  tender: LoadTender,
  decision: 'accept' | 'decline',
  reasons: readonly string[],
): Promise<void> {
  const { interchange, sender, now } = c;
  const reply = replyEnvelope(interchange, group, { interchange: 1, group: 1, transactionSet: 1 }, now);
  const ref = await storeOutbound(c.tx, {
    tenant: sender.tenant,
    partnerId: sender.id,
    type: '990',
    tenderId: null,
    sandbox: interchange.test,
    sourceId: `990:${sender.tenant}:${interchange.sender.id}:${interchange.test ? 'T' : 'P'}:${interchange.interchangeControlNumber}:${group.controlNumber}:${set.controlNumber}`,
    envelope: withoutNumbers(reply),
    generate: (env) =>
      generateTenderResponse(
        {
          shipmentId: tender.shipmentId,
          scac: scacFor(c.deps.settings, c.partnerEdi),
          decision,
          decidedAt: now,
          reasons: reasons.slice(0, 10).map((r) => r.slice(0, 30)),
        },
        env,
      ),
    now,
  });
  if (ref !== undefined) c.tenderResponses.push(ref);
}

/** The 997 R for a file the codec refused, when the failure's context names a group (else none). */
async function storeFailureAck(
  deps: ReceiveDeps,
  tx: Queryable,
  sender: EdiSender,
  partnerEdi: PartnerEdiConfig,
  bytes: Uint8Array,
  error: EdiError,
  now: Date,
): Promise<OutboundRef | undefined> {
  const ack = acknowledgeFailure(error);
  if (ack === undefined) return undefined;
  // The envelope could not be trusted; the 997 goes to the authenticated partner's configured identity,
  // in the group's version, with the usage indicator the ISA declared (sandbox traffic stays sandbox).
  let test = false;
  try {
    test = tokenizeX12(bytes).segments[0]?.elements[14] === 'T';
  } catch {
    test = false;
  }
  const version = ack.groupVersion.startsWith('005010') ? '5010' : '4010';
  const ours = deps.settings.edi;
  return storeOutbound(tx, {
    tenant: sender.tenant,
    partnerId: sender.id,
    type: '997',
    tenderId: null,
    sandbox: test,
    sourceId: `997:refused:${createHash('sha256').update(bytes).update(String(now.getTime())).digest('hex')}`,
    envelope: {
      version,
      groupVersion: /^00[45]010[A-Z0-9]{0,6}$/.test(ack.groupVersion) ? ack.groupVersion : `00${version}`,
      sender: { qualifier: ours.ourIsaQualifier, id: ours.ourIsaId },
      receiver: { qualifier: partnerEdi.isaQualifier, id: partnerEdi.isaId },
      applicationSender: ours.ourGsId,
      applicationReceiver: partnerEdi.gsId ?? partnerEdi.isaId,
      test,
      now,
    },
    generate: (env) => generateFunctionalAck(ack, env),
    now,
  });
}

async function cancelOwnTender(
  deps: ReceiveDeps,
  sender: EdiSender,
  tenderId: string | null,
  sets: SetResult[],
  index: number,
  icn: string,
): Promise<void> {
  const set = sets[index];
  if (set === undefined || tenderId === null) return;
  try {
    const view = await transitionTender(
      { store: deps.store, audit: deps.audit, now: deps.now, fleetVehicles: deps.fleetVehicles },
      { kind: 'partner', id: sender.id, certSha256: sender.certSha256, tenant: sender.tenant },
      tenderId,
      { event: 'cancel', reason: `EDI 204 cancellation (ISA13 ${icn})` },
    );
    sets[index] = {
      ...set,
      outcome: 'cancelled',
      tenderId,
      decision: 'cancelled',
      reasons: [],
      receipt: view.receipt,
    };
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    sets[index] = {
      ...set,
      outcome: error.code === 'TENDER_NOT_FOUND' ? 'not_found' : 'refused',
      reasons: [error.code],
    };
  }
}
