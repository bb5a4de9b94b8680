/**
 * The issuing half shared by EST simpleenroll and simplereenroll, once the request is authorised and its
 * CSR checked: refuse a key that was ever certified, sign the device certificate with the issuing CA
 * (pki/issue.ts — the CA sets the whole profile; the vehicle's tenant CA when its registered tenant has
 * one, else the default intermediate), then in ONE transaction spend the bootstrap token (if
 * any), re-check that the presented certificate has not been rotated meanwhile (if any), record the
 * certificate in the inventory, record the succession (rotation/succession.ts) and append the
 * 'pki.certificate.issued' audit entry with the SHA-256 thumbprint. Either all of it commits or none.
 *
 * The certificate is signed before the transaction (signing may need the key provider and must not hold
 * a lock). If the transaction fails the certificate is dropped: it was never sent, never recorded, and
 * its key holder never saw it.
 *
 * Concurrency: issuance for one vehicle is serialised by a transaction-scoped advisory lock on the
 * vehicle id, so two requests cannot both pass the key-reuse or already-rotated checks.
 */
import { X509Certificate } from 'node:crypto';
import type { AuditActor } from '../../../audit/event.ts';
import type { AuditLog } from '../../../audit/log.ts';
import type { EnrollmentConfig, RotationConfig } from '../../../config/config.ts';
import { GatewayError } from '../../../errors/gateway-error.ts';
import type { Queryable, Store } from '../../../store/store.ts';
import { loadIssuingCa } from '../../ca.ts';
import { PkiError } from '../../errors.ts';
import { getCertificate, normaliseSerial, recordCertificate, thumbprintOf } from '../../inventory.ts';
import { issueDeviceCertificate } from '../../issue.ts';
import { type Predecessor, recordSuccession } from '../../rotation/succession.ts';
import { tenantIssuingCaFor } from '../../tenants/tenant-ca.ts';
import type { EnrollmentCsr } from '../csr.ts';
import { spendToken, type TokenDigest } from './token-store.ts';

export interface IssueDeps {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly now: () => Date;
  readonly dataDir: string;
  readonly enrollment: EnrollmentConfig;
  readonly rotation: RotationConfig;
  /** Told about every predecessor a new certificate replaces (the rotation metrics). */
  readonly onSuccession?: (predecessors: readonly Predecessor[]) => void;
}

export type EnrollmentMethod = 'token' | 'manufacturer' | 'reenroll';

export interface IssueRequest {
  readonly vehicleId: string;
  readonly csr: EnrollmentCsr;
  readonly method: EnrollmentMethod;
  readonly actor: AuditActor;
  readonly token?: TokenDigest;
  /** simplereenroll: the serial of the certificate the request came over. */
  readonly presentedSerial?: string;
}

export interface IssuedDevice {
  readonly certificate: X509Certificate;
  readonly serialNumber: string;
  readonly thumbprintSha256: string;
  readonly predecessors: readonly Predecessor[];
  /** True when a certificate issued earlier for the same key was sent again (a lost answer). */
  readonly resent: boolean;
}

/**
 * Sends again the certificate an earlier request already obtained, when the new request proves
 * possession of that certificate's key (same key id) and it is still active: the device's earlier
 * answer was lost. Nothing new is granted; the decision is audited.
 */
export async function resendIfSameKey(
  deps: Pick<IssueDeps, 'store' | 'audit'>,
  serialNumber: string | null,
  request: Pick<IssueRequest, 'csr' | 'method' | 'actor' | 'vehicleId'>,
): Promise<IssuedDevice | undefined> {
  if (serialNumber === null) return undefined;
  const earlier = await getCertificate(deps.store, serialNumber);
  if (
    earlier?.keyId !== request.csr.keyId ||
    earlier.status !== 'active' ||
    earlier.subjectId !== request.vehicleId
  ) {
    return undefined;
  }
  await deps.audit.append({
    class: 'pki.certificate.issued',
    actor: request.actor,
    subject: { kind: 'certificate', id: earlier.serialNumber },
    outcome: 'recorded',
    details: {
      certSha256: earlier.thumbprintSha256,
      certificateKind: 'vehicle',
      subjectId: request.vehicleId,
      keyId: earlier.keyId,
      method: request.method,
      resent: true,
    },
  });
  return {
    certificate: new X509Certificate(earlier.pem),
    serialNumber: earlier.serialNumber,
    thumbprintSha256: earlier.thumbprintSha256,
    predecessors: [],
    resent: true,
  };
}

async function assertKeyNeverCertified(q: Queryable, keyId: string): Promise<void> {
  const rows = await q.query('SELECT 1 FROM certificates WHERE key_id = $1 LIMIT 1', [keyId]);
  if (rows.length > 0) {
    throw new GatewayError('EST_KEY_REUSED', 'a fresh key is required for every certificate');
  }
}

export async function issueAndRecord(deps: IssueDeps, request: IssueRequest): Promise<IssuedDevice> {
  await assertKeyNeverCertified(deps.store, request.csr.keyId);
  const now = deps.now();
  let issued: Awaited<ReturnType<typeof issueDeviceCertificate>>;
  let issuer: X509Certificate;
  try {
    // A vehicle registered to a tenant with its own issuing CA gets it (tenants/tenant-ca.ts).
    const ca =
      (await tenantIssuingCaFor(deps.store, deps.dataDir, request.vehicleId))?.ca ??
      (await loadIssuingCa(deps.dataDir));
    issuer = ca.certificate;
    issued = await issueDeviceCertificate(ca, {
      vehicleId: request.vehicleId,
      publicKey: request.csr.publicKey,
      now,
      validityDays: deps.enrollment.deviceValidityDays,
    });
  } catch (cause) {
    if (cause instanceof PkiError) {
      throw new GatewayError('SERVICE_UNAVAILABLE', 'the issuing CA is unavailable', { cause });
    }
    throw cause;
  }
  const certificate = issued.certificate;
  const serialNumber = normaliseSerial(certificate.serialNumber);
  const thumbprintSha256 = thumbprintOf(certificate);

  const predecessors = await deps.store.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`fleetgate:enroll:${request.vehicleId}`]);
    await assertKeyNeverCertified(tx, request.csr.keyId);
    if (request.token !== undefined) await spendToken(tx, request.token, serialNumber, now);
    if (request.presentedSerial !== undefined) {
      const [row] = await tx.query<{ replaced_by: string | null; status: string }>(
        'SELECT replaced_by, status FROM certificates WHERE serial_number = $1 FOR UPDATE',
        [request.presentedSerial],
      );
      if (row === undefined || row.status !== 'active') throw new GatewayError('EST_CERTIFICATE_NOT_ACTIVE');
      if (row.replaced_by !== null) throw new GatewayError('EST_ALREADY_ROTATED');
    }
    await recordCertificate(tx, certificate, { kind: 'vehicle', subjectId: request.vehicleId, issuer });
    const replaced = await recordSuccession(tx, {
      vehicleId: request.vehicleId,
      successorSerial: serialNumber,
      issuedAt: now,
      graceSeconds: deps.rotation.graceSeconds,
      renewAtFraction: deps.rotation.renewAtFraction,
    });
    await deps.audit.appendInTx(tx, {
      class: 'pki.certificate.issued',
      actor: request.actor,
      subject: { kind: 'certificate', id: serialNumber },
      outcome: 'accepted',
      details: {
        certSha256: thumbprintSha256,
        certificateKind: 'vehicle',
        subjectId: request.vehicleId,
        keyId: request.csr.keyId,
        method: request.method,
        notBefore: certificate.validFromDate.toISOString(),
        notAfter: certificate.validToDate.toISOString(),
        replaces: replaced.map((p) => p.serialNumber),
        ...(request.token === undefined ? {} : { tokenId: request.token.tokenId }),
      },
    });
    return replaced;
  });
  if (predecessors.length > 0) deps.onSuccession?.(predecessors);
  return { certificate, serialNumber, thumbprintSha256, predecessors, resent: false };
}
