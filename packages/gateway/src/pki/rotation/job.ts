/**
 * The rotation job: ends the overlap. Every `rotation.checkIntervalSeconds` it finds certificates whose
 * successor was issued more than `rotation.graceSeconds` ago (certificate_rotations.revoke_after has
 * passed) and revokes each with reason superseded (RFC 5280 §5.3.1) through revokeCertificate
 * (pki/revocation/revoke.ts), which audits it, reissues the CRL and closes open connections of the old
 * certificate. `certificates.replaced_by` was set when the successor was issued (succession.ts).
 *
 * Safe on several gateway nodes at once: revokeCertificate locks the inventory row and reports
 * `alreadyRevoked` to the second node; the job then only marks its own row as done. A certificate an
 * operator revoked in the meantime is marked done the same way, keeping its original reason.
 *
 * Threat: an old key that stays valid indefinitely after rotation (a stolen key would outlive the
 * rotation meant to retire it); the job makes the overlap bounded and the end of it auditable.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/log.ts';
import type { Store } from '../../store/store.ts';
import { revokeCertificate } from '../revocation/revoke.ts';

export interface RotationJobDeps {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly now: () => Date;
  readonly logger?: Pick<Logger, 'info' | 'error'>;
}

/** At most this many certificates are revoked per pass; the next pass continues. */
export const MAX_PER_PASS = 500;

export const ROTATION_ACTOR = { kind: 'system', id: 'rotation' } as const;

/** One pass: revokes every certificate whose overlap has ended; returns how many it handled. */
export async function revokeSupersededCertificates(deps: RotationJobDeps): Promise<number> {
  const due = await deps.store.query<{ serial_number: string }>(
    `SELECT serial_number FROM certificate_rotations
      WHERE revoked_at IS NULL AND revoke_after IS NOT NULL AND revoke_after <= $1
      ORDER BY revoke_after, serial_number LIMIT $2`,
    [deps.now(), MAX_PER_PASS],
  );
  for (const { serial_number: serialNumber } of due) {
    const result = await revokeCertificate(
      { store: deps.store, audit: deps.audit, now: deps.now },
      { serialNumber, reason: 'superseded', actor: { ...ROTATION_ACTOR } },
    );
    await deps.store.query(
      'UPDATE certificate_rotations SET revoked_at = $2 WHERE serial_number = $1 AND revoked_at IS NULL',
      [serialNumber, result.revokedAt],
    );
    if (!result.alreadyRevoked) deps.logger?.info({ serialNumber }, 'superseded certificate revoked');
  }
  return due.length;
}

export interface RotationJob {
  /** Runs one pass now (also what the timer does); passes never overlap. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startRotationJob(deps: RotationJobDeps, intervalMs: number): RotationJob {
  let running: Promise<number> | undefined;
  const runOnce = (): Promise<number> => {
    running ??= revokeSupersededCertificates(deps).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    runOnce().catch((error: unknown) => deps.logger?.error({ err: error }, 'rotation job failed'));
  }, intervalMs);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
