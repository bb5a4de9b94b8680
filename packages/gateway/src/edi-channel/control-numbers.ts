/**
 * Outbound control numbers (ASC X12.5: ISA13 unique per sender for a long period). One counter per partner
 * (table edi_control_numbers, migration 012), advanced in the transaction that stores the message, so a
 * number is never handed out twice — not across restarts, not across gateway nodes (the upsert's row lock
 * serialises them). Each message is one interchange with one group and one set: ISA13 = GS06 = ST02.
 * After 999,999,999 the counter wraps to 1 (X12 allows reuse after "a long period").
 */
import type { ControlNumbers } from '../edi/envelope.ts';
import type { Queryable } from '../store/store.ts';

export async function nextControlNumber(tx: Queryable, partnerId: string, tenant: string): Promise<number> {
  const [row] = await tx.query<{ last_value: string | number }>(
    `INSERT INTO edi_control_numbers (partner_id, tenant_id, last_value) VALUES ($1, $2, 1)
     ON CONFLICT (partner_id) DO UPDATE SET last_value =
       CASE WHEN edi_control_numbers.last_value >= 999999999 THEN 1 ELSE edi_control_numbers.last_value + 1 END
     RETURNING last_value`,
    [partnerId, tenant],
  );
  if (row === undefined) throw new Error('control number not allocated');
  return Number(row.last_value);
}

export const sameNumbers = (n: number): ControlNumbers => ({ interchange: n, group: n, transactionSet: n });

export const isa13 = (n: number): string => String(n).padStart(9, '0');
