/**
 * The 'edi-outbound' consumer of the tender lifecycle feed (tendering/lifecycle-feed.ts): for each change
 * of a tender that came in by EDI (edi_tenders), the 990 or 214s it calls for (status-map.ts), addressed
 * ONLY to the tender's own partner, in the envelope of the 204 it answers, stored in the outbox in the
 * same transaction as the consumer's cursor advances — so a crash never loses a message and never sends
 * one twice (source ids are unique). Tenders from other channels are skipped. Two gateway nodes may run
 * it: a transaction-scoped advisory lock and a re-read of the cursor make the second one a no-op.
 *
 * Threat: a 990/214 about another partner's load (OWASP API1): the partner is the tender's, read from the
 * tender row under the operator's scope, never from anything a partner sent afterwards.
 */

import type { OutboundEnvelope } from '../edi/envelope.ts';
import { generateShipmentStatus } from '../edi/generate-214.ts';
import { generateTenderResponse } from '../edi/generate-990.ts';
import type { X12Version } from '../edi/types.ts';
import type { Store } from '../store/store.ts';
import {
  type LifecycleChange,
  readCursor,
  readLifecycleFeed,
  saveCursor,
} from '../tendering/lifecycle-feed.ts';
import { withOperator } from '../tendering/tenant-scope.ts';
import { storeOutbound } from './outbox.ts';
import { carrierReference, type EdiSettings, partnerEdiOf, scacFor } from './settings.ts';
import { plansFor } from './status-map.ts';

export const EDI_OUTBOUND_CONSUMER = 'edi-outbound';
const CONSUMER_LOCK_KEY = 0x66656469; // 'fedi'
const BATCH = 200;

interface ChannelRow {
  tender_id: string;
  tenant_id: string;
  partner_id: string;
  shipment_id: string;
  version: X12Version;
  group_version: string;
  application_sender: string;
  vehicle_id: string | null;
  [key: string]: unknown;
}

export interface ConsumerDeps {
  store: Store;
  settings: EdiSettings;
  now: () => Date;
}

/** Handles one batch of the feed; returns how many changes it read (0: caught up). */
export async function runOutboundOnce(deps: ConsumerDeps): Promise<number> {
  const after = await readCursor(deps.store, EDI_OUTBOUND_CONSUMER);
  const changes = await readLifecycleFeed(deps.store, after, BATCH);
  const last = changes.at(-1);
  if (last === undefined) return 0;
  const now = deps.now();
  await withOperator(deps.store, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [CONSUMER_LOCK_KEY]);
    const current = await readCursor(tx, EDI_OUTBOUND_CONSUMER);
    if (current >= last.auditIndex) return; // another node handled this batch
    const fresh = changes.filter((c) => c.auditIndex > current);
    const ids = [...new Set(fresh.map((c) => c.tenderId))];
    const rows = await tx.query<ChannelRow>(
      `SELECT e.tender_id, e.tenant_id, e.partner_id, e.shipment_id, e.version, e.group_version,
         e.application_sender, t.vehicle_id
       FROM edi_tenders e JOIN tenders t ON t.id = e.tender_id WHERE e.tender_id = ANY($1)`,
      [ids],
    );
    const channels = new Map(rows.map((r) => [r.tender_id, r]));
    for (const change of fresh) {
      const channel = channels.get(change.tenderId);
      // The tender's own partner and tenant, twice: the channel row and the feed must agree.
      if (
        channel === undefined ||
        channel.partner_id !== change.partnerId ||
        channel.tenant_id !== change.tenant
      )
        continue;
      const partnerEdi = partnerEdiOf(deps.settings, channel.partner_id);
      if (partnerEdi === undefined) continue; // the partner's EDI identity was removed: nothing to address
      const ours = deps.settings.edi;
      const envelope: Omit<OutboundEnvelope, 'controlNumbers'> = {
        version: channel.version,
        groupVersion: channel.group_version,
        sender: { qualifier: ours.ourIsaQualifier, id: ours.ourIsaId },
        receiver: { qualifier: partnerEdi.isaQualifier, id: partnerEdi.isaId },
        applicationSender: ours.ourGsId,
        applicationReceiver: channel.application_sender,
        test: false,
        now,
      };
      const scac = scacFor(deps.settings, partnerEdi);
      const plans = plansFor(change);
      for (const [i, plan] of plans.entries()) {
        await storeOutbound(tx, {
          tenant: channel.tenant_id,
          partnerId: channel.partner_id,
          type: plan.type,
          tenderId: change.tenderId,
          sandbox: false,
          sourceId: `${plan.type}:${change.id}:${i}`,
          envelope,
          generate: (env) =>
            plan.type === '990'
              ? generateTenderResponse(
                  {
                    shipmentId: channel.shipment_id,
                    scac,
                    decision: plan.decision,
                    decidedAt: change.occurredAt,
                    reasons: plan.reasons,
                    references: [{ qualifier: 'CN', value: carrierReference(change.tenderId) }],
                  },
                  env,
                )
              : generateShipmentStatus(statusOf(change, channel, scac, plan), env),
          now,
        });
      }
    }
    await saveCursor(tx, EDI_OUTBOUND_CONSUMER, last.auditIndex, now);
  });
  return changes.length;
}

function statusOf(
  change: LifecycleChange,
  channel: ChannelRow,
  scac: string,
  plan: Extract<ReturnType<typeof plansFor>[number], { type: '214' }>,
) {
  const vehicle = change.vehicleId ?? channel.vehicle_id;
  return {
    carrierReference: carrierReference(change.tenderId),
    shipmentId: channel.shipment_id,
    scac,
    status: plan.status,
    reason: plan.reason,
    at: change.occurredAt,
    timeCode: 'UT',
    references: [{ qualifier: 'CN', value: change.tenderId }],
    ...(vehicle !== null && /^[A-Za-z0-9-]{1,15}$/.test(vehicle) ? { equipmentNumber: vehicle } : {}),
  };
}
