/**
 * Revokes one certificate of the inventory (RFC 5280 §5: the CA's statement that a certificate must no
 * longer be trusted before its notAfter). One transaction marks the `certificates` row revoked, with
 * its time and reason, and sequences the audit entry (`pki.certificate.revoked`, naming the
 * certificate's SHA-256 thumbprint), so a revocation exists exactly when its audit entry does.
 *
 * After the commit it announces the revocation in-process (signal.ts): the gateway that owns this store
 * reissues its CRL and closes every open connection of the certificate before this call returns. Other
 * processes find the row at their next poll (at least every second).
 *
 * Revocation is final and idempotent: revoking a revoked certificate changes nothing (not its time, not
 * its reason) and reports `alreadyRevoked`. CA certificates are refused: the intermediate would be
 * revoked on the root's CRL, which needs the offline root key.
 *
 * Threats: a revocation lost between the decision and its record (one transaction); two nodes revoking
 * one certificate with different times (the row is locked, the first one wins); an unvalidated serial
 * or reason reaching SQL or the CRL (both are checked against allow-lists first).
 */
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import type { Store } from '../../store/store.ts';
import { PkiError } from '../errors.ts';
import { normaliseSerial } from '../inventory.ts';
import { isRevocationReason, type RevocationReason } from './reasons.ts';
import { announceRevocation } from './signal.ts';

export type { RevocationReason } from './reasons.ts';

export interface RevokeDeps {
  store: Store;
  audit: AuditLog;
  now: () => Date;
}

export interface RevokeInput {
  serialNumber: string;
  reason: RevocationReason;
  actor: AuditActor;
}

export interface RevokeResult {
  revokedAt: Date;
  alreadyRevoked: boolean;
}

const SERIAL = /^[0-9a-f]{2,40}$/;

interface Row {
  serial_number: string;
  kind: string;
  subject_id: string;
  thumbprint_sha256: string;
  status: 'active' | 'revoked';
  revoked_at: Date | null;
  [key: string]: unknown;
}

export async function revokeCertificate(deps: RevokeDeps, input: RevokeInput): Promise<RevokeResult> {
  if (typeof input.serialNumber !== 'string' || !/^[0-9A-Fa-f]{1,42}$/.test(input.serialNumber)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'serial number must be 1 to 42 hexadecimal digits');
  }
  const serialNumber = normaliseSerial(input.serialNumber);
  if (!SERIAL.test(serialNumber)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'serial number must be at most 20 octets');
  }
  if (!isRevocationReason(input.reason)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'unknown revocation reason');
  }
  const reason = input.reason;
  // CRL and OCSP times have one-second resolution; the stored time is the published one.
  const revokedAt = new Date(Math.floor(deps.now().getTime() / 1000) * 1000);

  const result = await deps.store.transaction(async (tx): Promise<RevokeResult> => {
    const [row] = await tx.query<Row>(
      `SELECT serial_number, kind, subject_id, thumbprint_sha256, status, revoked_at
         FROM certificates WHERE serial_number = $1 FOR UPDATE`,
      [serialNumber],
    );
    if (row === undefined) {
      throw new PkiError(
        'PKI_INVALID_ARGUMENT',
        `no certificate with serial ${serialNumber} in the inventory`,
      );
    }
    if (row.kind === 'ca') {
      throw new PkiError('PKI_INVALID_ARGUMENT', 'a CA certificate is revoked by its issuer, not here');
    }
    if (row.status === 'revoked') {
      return { revokedAt: row.revoked_at ?? revokedAt, alreadyRevoked: true };
    }
    await tx.query(
      `UPDATE certificates SET status = 'revoked', revoked_at = $2, revocation_reason = $3
        WHERE serial_number = $1`,
      [serialNumber, revokedAt, reason],
    );
    await deps.audit.appendInTx(tx, {
      class: 'pki.certificate.revoked',
      actor: input.actor,
      subject: { kind: 'certificate', id: serialNumber },
      outcome: 'recorded',
      reasons: [reason],
      details: {
        certSha256: row.thumbprint_sha256,
        certificateKind: row.kind,
        subjectId: row.subject_id,
        revokedAt: revokedAt.toISOString(),
      },
    });
    return { revokedAt, alreadyRevoked: false };
  });

  if (!result.alreadyRevoked) {
    // Committed: subscribers (CRL reissue, connection enforcement) log their own failures; a failure
    // there never undoes the revocation, and the poll retries it.
    await announceRevocation(deps.store, { serialNumber, reason, revokedAt: result.revokedAt });
  }
  return result;
}
