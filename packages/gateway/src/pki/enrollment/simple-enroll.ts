/**
 * EST simpleenroll (RFC 7030 §4.2.1): a vehicle's first certificate, for a PKCS#10 request with a fresh
 * Ed25519 key. Authorised by exactly one of
 *   - a one-time bootstrap token bound to a vehicle id (`Authorization: Bearer <token>`, created by
 *     `fleetgate device enroll <vehicle-id> --token`), or
 *   - a manufacturer certificate presented in the TLS handshake, chaining to
 *     `enrollment.manufacturerCaFile` and naming a vehicle listed in `fleet.vehicles` (manufacturer.ts).
 * The request must then name that vehicle or nothing (csr.ts); the CA sets the rest. A fleetgate device
 * certificate does not authorise simpleenroll: renewal goes through simplereenroll, which also records
 * the succession.
 *
 * Order of checks: credential (EST_AUTH_REQUIRED, EST_TOKEN_*, EST_MANUFACTURER_CERT_INVALID,
 * EST_VEHICLE_NOT_IN_FLEET), then the request (EST_REQUEST_MALFORMED, EST_CSR_*), then issuance
 * (EST_KEY_REUSED; the token is spent in the issuing transaction). Every refusal is audited.
 *
 * A spent token with a request for the SAME key as the certificate it obtained gets that certificate
 * again (the device's answer was lost; it proves possession of that key, so nothing new is granted).
 *
 * Threats: token replay (single use, spent atomically with the issuance), token theft (bound to one
 * vehicle, short-lived, withdrawn when a newer one is made), identity claims (the request cannot
 * choose another vehicle), weak or foreign keys (Ed25519 only), key reuse (refused).
 */
import type { X509Certificate } from 'node:crypto';
import type { AuditActor } from '../../audit/event.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { assertCsrNamesVehicle, decodeBase64Body, type EnrollmentCsr, parseEnrollmentCsr } from './csr.ts';
import {
  type IssueDeps,
  type IssuedDevice,
  issueAndRecord,
  resendIfSameKey,
} from './internal/issue-and-record.ts';
import { auditRefusal, UNAUTHENTICATED } from './internal/refusal.ts';
import { assertTokenUsable, lookupToken, type TokenDigest } from './internal/token-store.ts';
import { verifyManufacturerChain } from './manufacturer.ts';

export type { IssuedDevice } from './internal/issue-and-record.ts';

export type EnrollCredential =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'manufacturer'; readonly chain: readonly X509Certificate[] }
  | { readonly kind: 'none' };

export interface SimpleEnrollDeps extends IssueDeps {
  /** Manufacturer CAs (enrollment.manufacturerCaFile); empty when manufacturer enrollment is off. */
  readonly manufacturerAnchors: readonly X509Certificate[];
  /** fleet.vehicles: who may enroll with a manufacturer certificate. */
  readonly fleet: () => readonly string[];
}

function readCsr(deps: SimpleEnrollDeps, body: string): EnrollmentCsr {
  const limit = deps.enrollment.maxCsrBytes;
  return parseEnrollmentCsr(decodeBase64Body(body, limit), limit);
}

export async function simpleEnroll(
  deps: SimpleEnrollDeps,
  credential: EnrollCredential,
  body: string,
  remoteAddress: string,
): Promise<IssuedDevice> {
  let actor: AuditActor = UNAUTHENTICATED;
  let token: TokenDigest | undefined;
  try {
    let vehicleId: string;
    const now = deps.now();
    if (credential.kind === 'token') {
      const stored = await lookupToken(deps.store, credential.token);
      token = stored;
      vehicleId = stored.vehicleId;
      actor = { kind: 'vehicle', id: vehicleId };
      if (stored.usedSerial !== null) {
        // A spent token: only the device that spent it may fetch its certificate again (lost answer).
        const csr = readCsr(deps, body);
        const resent = await resendIfSameKey(deps, stored.usedSerial, {
          csr,
          method: 'token',
          actor,
          vehicleId,
        });
        if (resent !== undefined) return resent;
      }
      assertTokenUsable(stored, now);
    } else if (credential.kind === 'manufacturer') {
      const identity = verifyManufacturerChain(credential.chain, deps.manufacturerAnchors, now);
      vehicleId = identity.vehicleId;
      actor = { kind: 'vehicle', id: vehicleId, certSha256: identity.thumbprintSha256 };
      if (!deps.fleet().includes(vehicleId)) throw new GatewayError('EST_VEHICLE_NOT_IN_FLEET');
    } else {
      throw new GatewayError('EST_AUTH_REQUIRED');
    }
    const csr = parseEnrollmentCsr(
      decodeBase64Body(body, deps.enrollment.maxCsrBytes),
      deps.enrollment.maxCsrBytes,
    );
    assertCsrNamesVehicle(csr, vehicleId);
    return await issueAndRecord(deps, {
      vehicleId,
      csr,
      method: credential.kind,
      actor,
      ...(token === undefined ? {} : { token }),
    });
  } catch (error) {
    if (error instanceof GatewayError && error.status < 500) {
      await auditRefusal(deps.audit, {
        endpoint: 'simpleenroll',
        actor,
        error,
        remoteAddress,
        body,
        ...(token === undefined ? {} : { tokenId: token.tokenId }),
      });
    }
    throw error;
  }
}
