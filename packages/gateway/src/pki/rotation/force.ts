/**
 * Forced rotation after a compromise (`fleetgate device rotate <vehicle-id> | --tenant <t> |
 * --intermediate [sha256]`): every active vehicle certificate selected is marked must-rotate and
 * REVOKED AT ONCE — reason keyCompromise for a vehicle or a tenant, cACompromise for certificates of a
 * compromised intermediate (RFC 5280 §5.3.1) — and, by default, each affected vehicle gets a new
 * one-time bootstrap token to re-enroll with (create-token.ts, purpose 're-enroll').
 *
 * Why immediate revocation and not a deadline: rotation over the current mTLS session
 * (simplereenroll) proves possession of the current key, which is exactly what a compromise makes
 * worthless — during a deadline the attacker could rotate the stolen certificate into a fresh one of
 * their own, and keep sending telemetry as the vehicle. Revoking at once closes both doors; the vehicle
 * comes back through a channel the attacker does not have (a token delivered out of band). The cost —
 * the vehicle is offline until it re-enrolls — is the right trade for a key known or suspected stolen.
 * Ordinary renewal (no compromise) keeps the overlap (job.ts).
 *
 * Each certificate is marked in certificate_rotations (forced, due_at = now, for the mean time to
 * rotation) with a 'pki.rotation.forced' audit entry before it is revoked, so even a crash between the
 * two leaves it refused for simplereenroll. The revocation itself goes through revokeCertificate.
 */
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import type { Store } from '../../store/store.ts';
import { type CreatedBootstrapToken, createBootstrapToken } from '../enrollment/create-token.ts';
import { PkiError } from '../errors.ts';
import { assertValidFleetgateId } from '../identity.ts';
import { revokeCertificate } from '../revocation/revoke.ts';

export type RotationSelector =
  | { readonly vehicleId: string }
  | { readonly tenant: string }
  | { readonly intermediateSha256: string };

export interface ForceRotationInput {
  readonly selector: RotationSelector;
  readonly actor: AuditActor;
  /** Create a re-enrollment bootstrap token per affected vehicle (default true). */
  readonly issueTokens?: boolean;
  readonly tokenTtlSeconds: number;
}

export interface ForcedCertificate {
  readonly vehicleId: string;
  readonly serialNumber: string;
  readonly thumbprintSha256: string;
  readonly revokedAt: Date;
}

export interface ForceRotationResult {
  readonly certificates: readonly ForcedCertificate[];
  readonly tokens: readonly CreatedBootstrapToken[];
}

export interface ForceRotationDeps {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly now: () => Date;
}

function selection(selector: RotationSelector): { where: string; param: string; scope: string } {
  if ('vehicleId' in selector) {
    assertValidFleetgateId(selector.vehicleId, 'vehicle');
    return { where: 'c.subject_id = $1', param: selector.vehicleId, scope: 'vehicle' };
  }
  if ('tenant' in selector) {
    assertValidFleetgateId(selector.tenant, 'tenant');
    return {
      where: `(c.subject_id IN (SELECT vehicle_id FROM vehicle_registrations WHERE tenant = $1)
               OR ($1 = 'default' AND NOT EXISTS
                 (SELECT 1 FROM vehicle_registrations r WHERE r.vehicle_id = c.subject_id)))`,
      param: selector.tenant,
      scope: 'tenant',
    };
  }
  if (!/^[0-9a-f]{64}$/.test(selector.intermediateSha256)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'intermediate must be a SHA-256 thumbprint in lower-case hex');
  }
  return { where: 'c.issuer_sha256 = $1', param: selector.intermediateSha256, scope: 'intermediate' };
}

export async function forceRotation(
  deps: ForceRotationDeps,
  input: ForceRotationInput,
): Promise<ForceRotationResult> {
  const { where, param, scope } = selection(input.selector);
  const reason = scope === 'intermediate' ? 'cACompromise' : 'keyCompromise';
  const selected = await deps.store.query<{
    serial_number: string;
    subject_id: string;
    thumbprint_sha256: string;
  }>(
    `SELECT c.serial_number, c.subject_id, c.thumbprint_sha256 FROM certificates c
      WHERE c.kind = 'vehicle' AND c.status = 'active' AND ${where} ORDER BY c.subject_id, c.serial_number`,
    [param],
  );
  const certificates: ForcedCertificate[] = [];
  for (const row of selected) {
    await deps.store.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO certificate_rotations (serial_number, vehicle_id, due_at, forced, forced_reason)
         VALUES ($1, $2, $3, true, $4)
         ON CONFLICT (serial_number) DO UPDATE SET forced = true, forced_reason = excluded.forced_reason`,
        [row.serial_number, row.subject_id, deps.now(), reason],
      );
      await deps.audit.appendInTx(tx, {
        class: 'pki.rotation.forced',
        actor: input.actor,
        subject: { kind: 'certificate', id: row.serial_number },
        outcome: 'recorded',
        reasons: [reason],
        details: { certSha256: row.thumbprint_sha256, vehicleId: row.subject_id, scope, selector: param },
      });
    });
    const revoked = await revokeCertificate(deps, {
      serialNumber: row.serial_number,
      reason,
      actor: input.actor,
    });
    await deps.store.query(
      'UPDATE certificate_rotations SET revoked_at = $2 WHERE serial_number = $1 AND revoked_at IS NULL',
      [row.serial_number, revoked.revokedAt],
    );
    certificates.push({
      vehicleId: row.subject_id,
      serialNumber: row.serial_number,
      thumbprintSha256: row.thumbprint_sha256,
      revokedAt: revoked.revokedAt,
    });
  }
  const tokens: CreatedBootstrapToken[] = [];
  if (input.issueTokens !== false) {
    for (const vehicleId of new Set(certificates.map((c) => c.vehicleId))) {
      tokens.push(
        await createBootstrapToken(deps, {
          vehicleId,
          ttlSeconds: input.tokenTtlSeconds,
          actor: input.actor,
          purpose: 're-enroll',
        }),
      );
    }
  }
  return { certificates, tokens };
}
