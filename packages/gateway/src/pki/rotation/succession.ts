/**
 * Records that a newly issued vehicle certificate replaces the vehicle's earlier ones — the overlap
 * half of rotation (docs/pki.md "Rotation"). Called inside the transaction that records the successor.
 * Every earlier certificate of the vehicle that has no successor yet gets:
 *   - `certificates.replaced_by` = the successor's serial (the inventory's history chain);
 *   - a `certificate_rotations` row: `due_at` (when its renewal fell due: `renewAtFraction` of its
 *     lifetime, or the time a forced rotation was ordered), the successor and its issuance time, and —
 *     while it is still active — `revoke_after` = now + `graceSeconds`, the end of the overlap, after
 *     which the rotation job (job.ts) revokes it as superseded.
 * During the overlap both certificates are valid, so a vehicle can switch connections without losing
 * a batch; after it the old key is worthless.
 *
 * Returns, per predecessor, the seconds from due to successor (never negative: an early renewal counts
 * as zero) for the mean-time-to-rotation metric.
 */
import type { Queryable } from '../../store/store.ts';

export interface SuccessionInput {
  readonly vehicleId: string;
  readonly successorSerial: string;
  readonly issuedAt: Date;
  readonly graceSeconds: number;
  readonly renewAtFraction: number;
}

export interface Predecessor {
  readonly serialNumber: string;
  readonly forced: boolean;
  /** Seconds from the renewal falling due (or the forced rotation) to the successor's issuance. */
  readonly rotationSeconds: number;
  /** End of the overlap; null when the predecessor was already revoked. */
  readonly revokeAfter: Date | null;
}

interface Candidate {
  serial_number: string;
  not_before: Date;
  not_after: Date;
  status: 'active' | 'revoked';
  revoked_at: Date | null;
  due_at: Date | null;
  forced: boolean | null;
  [key: string]: unknown;
}

/** When renewal of a certificate valid from notBefore to notAfter falls due. */
export function renewalDueAt(notBefore: Date, notAfter: Date, fraction: number): Date {
  const start = notBefore.getTime();
  return new Date(start + Math.floor((notAfter.getTime() - start) * fraction));
}

export async function recordSuccession(tx: Queryable, input: SuccessionInput): Promise<Predecessor[]> {
  const rows = await tx.query<Candidate>(
    `SELECT c.serial_number, c.not_before, c.not_after, c.status, c.revoked_at, r.due_at, r.forced
       FROM certificates c LEFT JOIN certificate_rotations r ON r.serial_number = c.serial_number
      WHERE c.kind = 'vehicle' AND c.subject_id = $1 AND c.replaced_by IS NULL AND c.serial_number <> $2
      ORDER BY c.serial_number FOR UPDATE OF c`,
    [input.vehicleId, input.successorSerial],
  );
  const out: Predecessor[] = [];
  for (const row of rows) {
    const dueAt = row.due_at ?? renewalDueAt(row.not_before, row.not_after, input.renewAtFraction);
    const revokeAfter =
      row.status === 'active' ? new Date(input.issuedAt.getTime() + input.graceSeconds * 1000) : null;
    await tx.query('UPDATE certificates SET replaced_by = $2 WHERE serial_number = $1', [
      row.serial_number,
      input.successorSerial,
    ]);
    await tx.query(
      `INSERT INTO certificate_rotations
         (serial_number, vehicle_id, due_at, successor_serial, successor_issued_at, revoke_after, revoked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (serial_number) DO UPDATE SET
         successor_serial = coalesce(certificate_rotations.successor_serial, excluded.successor_serial),
         successor_issued_at = coalesce(certificate_rotations.successor_issued_at, excluded.successor_issued_at),
         revoke_after = coalesce(certificate_rotations.revoke_after, excluded.revoke_after)`,
      [
        row.serial_number,
        input.vehicleId,
        dueAt,
        input.successorSerial,
        input.issuedAt,
        revokeAfter,
        row.status === 'revoked' ? row.revoked_at : null,
      ],
    );
    out.push({
      serialNumber: row.serial_number,
      forced: row.forced === true,
      rotationSeconds: Math.max(0, (input.issuedAt.getTime() - dueAt.getTime()) / 1000),
      revokeAfter,
    });
  }
  return out;
}
