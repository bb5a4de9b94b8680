/**
 * Gives a client new credentials (`fleetgate partner rotate-keys`):
 *  - tls_client_auth: a new ECDSA P-256 key and a partner certificate for it, issued by the issuing CA
 *    (pki/ca.ts loadIssuingCa, pki/issue.ts issuePartnerCertificate — the only PKI calls made, so CA key
 *    custody stays the PKI's business), written to DIR/pki/partners/<id>/ (key 0600) and recorded in the
 *    certificate inventory; then the previous certificate is revoked with reason superseded
 *    (pki/revocation/revoke.ts), which publishes it on the CRL/OCSP and closes its connections;
 *  - private_key_jwt: the registered JWKS is replaced (validated like at registration);
 *  - self_signed_tls_client_auth: the registered certificate thumbprint and/or x5c JWKS are replaced.
 * Every step is audited: a JWKS or thumbprint change and `auth.client.keys_rotated` are one transaction; a
 * new certificate is `pki.certificate.issued` (with its inventory record), then `auth.client.keys_rotated`,
 * then `pki.certificate.revoked` for the old one. Live tokens stay valid until they expire (minutes) after a
 * JWKS change; certificate-bound tokens cannot be used without the revoked certificate.
 */
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import { revokeCertificate } from '../../pki/revocation/revoke.ts';
import type { Store } from '../../store/store.ts';
import {
  selfSignedCertificateThumbprint,
  validatePublicJwks,
  validateSelfSignedJwks,
} from './client-keys.ts';
import { findClient } from './client-registry.ts';
import { AuthServerError } from './errors.ts';
import { issuePartnerCredentials } from './partner-certificate.ts';

export interface RotateDeps {
  store: Store;
  audit: AuditLog;
  now: () => Date;
  dataDir: string;
}

export interface RotateInput {
  /** private_key_jwt (required) or self_signed_tls_client_auth (x5c keys): the new public JWKS. */
  jwks?: unknown;
  /** self_signed_tls_client_auth: the new certificate (PEM). */
  certificatePem?: string;
}

export interface RotateResult {
  authMethod: string;
  /** tls_client_auth: the new certificate's serial and where its files are. */
  certificate?: { serialNumber: string; dir: string };
  /** tls_client_auth: the superseded certificate, and whether it is now revoked. */
  previous?: { serialNumber: string; revoked: boolean };
}

async function newPartnerCertificate(
  deps: RotateDeps,
  clientId: string,
  actor: AuditActor,
): Promise<RotateResult> {
  const issued = await issuePartnerCredentials(deps, clientId, actor);
  const previousSerial = issued.previous?.serialNumber;
  await deps.audit.append({
    class: 'auth.client.keys_rotated',
    actor,
    subject: { kind: 'oauth-client', id: clientId },
    outcome: 'recorded',
    details: {
      authMethod: 'tls_client_auth',
      serialNumber: issued.serialNumber,
      ...(previousSerial === undefined ? {} : { previousSerialNumber: previousSerial }),
    },
  });
  const result: RotateResult = {
    authMethod: 'tls_client_auth',
    certificate: { serialNumber: issued.serialNumber, dir: issued.dir },
  };
  if (issued.previous !== undefined) {
    let revoked = false;
    if (issued.previous.fromCurrentCa) {
      await revokeCertificate(deps, {
        serialNumber: issued.previous.serialNumber,
        reason: 'superseded',
        actor,
      });
      revoked = true;
    }
    result.previous = { serialNumber: issued.previous.serialNumber, revoked };
  }
  return result;
}

export async function rotateClientKeys(
  deps: RotateDeps,
  clientId: string,
  input: RotateInput,
  actor: AuditActor,
): Promise<RotateResult> {
  const client = await findClient(deps.store, clientId);
  if (client === undefined) throw new AuthServerError('AS_CLIENT_NOT_FOUND', `no client ${clientId}`);
  if (client.authMethod === 'tls_client_auth') {
    if (input.jwks !== undefined || input.certificatePem !== undefined) {
      throw new AuthServerError(
        'AS_INVALID_ARGUMENT',
        'a tls_client_auth client gets a new certificate from the CA',
      );
    }
    return newPartnerCertificate(deps, clientId, actor);
  }
  const now = deps.now();
  let thumbprint = client.tlsClientAuthSanUri;
  let jwks: unknown = client.jwks;
  if (client.authMethod === 'private_key_jwt') {
    if (input.jwks === undefined)
      throw new AuthServerError('AS_INVALID_ARGUMENT', 'private_key_jwt needs --jwks');
    jwks = await validatePublicJwks(input.jwks);
  } else {
    if (input.certificatePem === undefined && input.jwks === undefined) {
      throw new AuthServerError('AS_INVALID_ARGUMENT', 'self_signed_tls_client_auth needs --cert or --jwks');
    }
    if (input.certificatePem !== undefined)
      thumbprint = selfSignedCertificateThumbprint(input.certificatePem, now);
    if (input.jwks !== undefined) jwks = validateSelfSignedJwks(input.jwks, now);
  }
  await deps.store.transaction(async (tx) => {
    await tx.query(
      'UPDATE oauth_clients SET jwks = $2, tls_client_auth_san_uri = $3, updated_at = $4 WHERE client_id = $1',
      [clientId, jwks === null ? null : JSON.stringify(jwks), thumbprint, now],
    );
    await deps.audit.appendInTx(tx, {
      class: 'auth.client.keys_rotated',
      actor,
      subject: { kind: 'oauth-client', id: clientId },
      outcome: 'recorded',
      details: { authMethod: client.authMethod },
    });
  });
  return { authMethod: client.authMethod };
}
