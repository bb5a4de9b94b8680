/**
 * The EDI outbox (table edi_outbound, migration 012): every 997, 990 and 214 we send a partner, stored in
 * the transaction that decided to send it, readable by that partner only (row-level security on its
 * tenant, and a filter on the partner id: a tenant's other partners do not read each other's messages).
 * `source_id` makes generation idempotent: the same source never yields two messages. Threat: BOLA by
 * outbox id (OWASP API1) — another partner's message is answered exactly like a missing one.
 */
import type { OutboundEnvelope } from '../edi/envelope.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Queryable, Store } from '../store/store.ts';
import { withTenant } from '../tendering/tenant-scope.ts';
import { isa13, nextControlNumber, sameNumbers } from './control-numbers.ts';

export type OutboundType = '997' | '990' | '214';

export interface OutboundMessage {
  tenant: string;
  partnerId: string;
  type: OutboundType;
  tenderId: string | null;
  sandbox: boolean;
  /** What the message answers; a second message for the same source is not stored. */
  sourceId: string;
  /** The envelope without its control numbers (allocated here). */
  envelope: Omit<OutboundEnvelope, 'controlNumbers'>;
  generate(envelope: OutboundEnvelope): Buffer;
  now: Date;
}

export interface OutboundRef {
  id: string;
  type: OutboundType;
  controlNumber: string;
  x12: string;
}

/** Generates and stores one message in `tx`; undefined when its source already has one. */
export async function storeOutbound(tx: Queryable, m: OutboundMessage): Promise<OutboundRef | undefined> {
  const n = await nextControlNumber(tx, m.partnerId, m.tenant);
  const x12 = m.generate({ ...m.envelope, controlNumbers: sameNumbers(n) }).toString('utf8');
  const [row] = await tx.query<{ id: string | number }>(
    `INSERT INTO edi_outbound (tenant_id, partner_id, message_type, tender_id, control_number, sandbox,
       source_id, body, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (source_id) DO NOTHING RETURNING id`,
    [m.tenant, m.partnerId, m.type, m.tenderId, isa13(n), m.sandbox, m.sourceId, x12, m.now],
  );
  if (row === undefined) return undefined;
  return { id: String(row.id), type: m.type, controlNumber: isa13(n), x12 };
}

export interface OutboundItem {
  id: string;
  type: OutboundType;
  tenderId: string | null;
  controlNumber: string;
  sandbox: boolean;
  createdAt: string;
}

interface ItemRow {
  id: string | number;
  message_type: OutboundType;
  tender_id: string | null;
  control_number: string;
  sandbox: boolean;
  created_at: Date;
  [key: string]: unknown;
}

const toItem = (r: ItemRow): OutboundItem => ({
  id: String(r.id),
  type: r.message_type,
  tenderId: r.tender_id,
  controlNumber: r.control_number,
  sandbox: r.sandbox,
  createdAt: new Date(r.created_at).toISOString(),
});

export interface OutboxReader {
  id: string;
  tenant: string;
}

/** The partner's messages with id above `after`, oldest first. */
export async function listOutbound(
  store: Store,
  partner: OutboxReader,
  after: string,
  limit: number,
): Promise<{ items: OutboundItem[]; nextAfter: string }> {
  const rows = await withTenant(store, partner.tenant, (tx) =>
    tx.query<ItemRow>(
      `SELECT id, message_type, tender_id, control_number, sandbox, created_at FROM edi_outbound
       WHERE partner_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [partner.id, after, limit],
    ),
  );
  const items = rows.map(toItem);
  return { items, nextAfter: items.at(-1)?.id ?? after };
}

/** One message's X12 text; another partner's is EDI_OUTBOUND_NOT_FOUND, like a missing one. */
export async function readOutbound(store: Store, partner: OutboxReader, id: string): Promise<string> {
  const [row] = await withTenant(store, partner.tenant, (tx) =>
    tx.query<{ body: string }>('SELECT body FROM edi_outbound WHERE partner_id = $1 AND id = $2', [
      partner.id,
      id,
    ]),
  );
  if (row === undefined) throw new GatewayError('EDI_OUTBOUND_NOT_FOUND');
  return row.body;
}
