/**
 * EST simplereenroll (RFC 7030 §4.2.2): renewal with a new key over the vehicle's current mTLS identity
 * — the rotation step of docs/pki.md "Rotation". Authorised only by a client certificate that OpenSSL
 * verified against the fleetgate trust bundle during the handshake (http/peer.ts refuses an unverified
 * one) and that the inventory knows as an active vehicle certificate not marked for forced rotation.
 *
 * Checks, in order: verified vehicle identity (AUTH_CLIENT_CERT_REQUIRED, AUTH_IDENTITY_NOT_ALLOWED);
 * inventory status (EST_CERTIFICATE_NOT_ACTIVE: unknown, revoked, or force-rotated — a force-rotated
 * certificate may have a stolen key, so it must re-enroll with a new bootstrap token); the request
 * (csr.ts; it may name only this vehicle); a fresh key (EST_KEY_REUSED for the current key or any key
 * ever certified); no successor yet (EST_ALREADY_ROTATED). Every refusal is audited.
 *
 * Idempotent retry: if the certificate already has a successor *for the same key* (the vehicle's
 * earlier response was lost), that successor is sent again rather than refused — the request proves
 * possession of the successor's key, so nothing new is granted.
 *
 * Threat: an attacker with a stolen but still valid certificate can rotate it once, which is why forced
 * rotation revokes at once instead of waiting for the vehicle (docs/pki.md).
 */
import type { AuditActor } from '../../audit/event.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { getCertificate, normaliseSerial } from '../inventory.ts';
import type { PeerIdentity } from '../peer-identity.ts';
import { assertCsrNamesVehicle, decodeBase64Body, parseEnrollmentCsr } from './csr.ts';
import {
  type IssueDeps,
  type IssuedDevice,
  issueAndRecord,
  resendIfSameKey,
} from './internal/issue-and-record.ts';
import { auditRefusal, UNAUTHENTICATED } from './internal/refusal.ts';

export async function simpleReenroll(
  deps: IssueDeps,
  resolveIdentity: () => PeerIdentity,
  body: string,
  remoteAddress: string,
): Promise<IssuedDevice> {
  let actor: AuditActor = UNAUTHENTICATED;
  try {
    const identity = resolveIdentity();
    actor = { kind: identity.kind, id: identity.id, certSha256: identity.thumbprintSha256 };
    if (identity.kind !== 'vehicle') {
      throw new GatewayError('AUTH_IDENTITY_NOT_ALLOWED', 'a vehicle certificate is required');
    }
    const serialNumber = normaliseSerial(identity.serialNumber);
    const current = await getCertificate(deps.store, serialNumber);
    if (
      current === undefined ||
      current.kind !== 'vehicle' ||
      current.subjectId !== identity.id ||
      current.thumbprintSha256 !== identity.thumbprintSha256 ||
      current.status !== 'active'
    ) {
      throw new GatewayError('EST_CERTIFICATE_NOT_ACTIVE');
    }
    const forced = await deps.store.query(
      'SELECT 1 FROM certificate_rotations WHERE serial_number = $1 AND forced',
      [serialNumber],
    );
    if (forced.length > 0) throw new GatewayError('EST_CERTIFICATE_NOT_ACTIVE', 'certificate must re-enroll');

    const csr = parseEnrollmentCsr(
      decodeBase64Body(body, deps.enrollment.maxCsrBytes),
      deps.enrollment.maxCsrBytes,
    );
    assertCsrNamesVehicle(csr, identity.id);
    if (csr.keyId === identity.keyId) {
      throw new GatewayError('EST_KEY_REUSED', 're-enrollment must bring a new key');
    }
    if (current.replacedBy !== null) {
      const resent = await resendIfSameKey(deps, current.replacedBy, {
        csr,
        method: 'reenroll',
        actor,
        vehicleId: identity.id,
      });
      if (resent === undefined) throw new GatewayError('EST_ALREADY_ROTATED');
      return resent;
    }
    return await issueAndRecord(deps, {
      vehicleId: identity.id,
      csr,
      method: 'reenroll',
      actor,
      presentedSerial: serialNumber,
    });
  } catch (error) {
    if (error instanceof GatewayError && error.status < 500) {
      await auditRefusal(deps.audit, { endpoint: 'simplereenroll', actor, error, remoteAddress, body });
    }
    throw error;
  }
}
