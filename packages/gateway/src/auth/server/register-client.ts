/**
 * Registers an OAuth client (`fleetgate partner add`): validates everything before the first write, then
 * inserts the row and sequences `auth.client.registered` in one transaction.
 *
 * Per method (RFC 8705 §2.1, §2.2; RFC 7523 §2.2): tls_client_auth registers the SAN URI
 * urn:fleetgate:partner:<id> (the certificate comes from the fleetgate CA); self_signed_tls_client_auth
 * registers a certificate's thumbprint (from --cert) and/or a JWKS whose keys carry x5c certificates;
 * private_key_jwt registers a public JWKS. Client secrets cannot be registered: there is no field for one.
 */
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import { ID_PATTERN } from '../../config/config.ts';
import { identityUri } from '../../pki/identity.ts';
import type { Store } from '../../store/store.ts';
import { parseClientPolicy } from '../policy/policy.ts';
import {
  selfSignedCertificateThumbprint,
  validatePublicJwks,
  validateSelfSignedJwks,
} from './client-keys.ts';
import {
  CLIENT_AUTH_METHODS,
  type ClientAuthMethod,
  type ClientRecord,
  DEFAULT_PARTNER_SCOPES,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  findClient,
  insertClient,
  type OAuthClient,
  SCOPES,
  type Scope,
} from './client-registry.ts';
import { AuthServerError } from './errors.ts';

export interface ClientRegistration {
  clientId: string;
  tenantId: string;
  authMethod?: ClientAuthMethod;
  /** private_key_jwt: the public JWKS; self_signed_tls_client_auth: keys with x5c. */
  jwks?: unknown;
  /** self_signed_tls_client_auth: the client's certificate (PEM). */
  certificatePem?: string;
  scopes?: readonly string[];
  tokenLifetimeSeconds?: number;
  /** { lanes?, equipment?, timeWindows? } (auth/policy/policy.ts). */
  policy?: unknown;
}

function bad(message: string, cause?: unknown): AuthServerError {
  return new AuthServerError('AS_INVALID_ARGUMENT', message, cause === undefined ? undefined : { cause });
}

export function validateScopes(scopes: readonly string[] | undefined): Scope[] {
  if (scopes === undefined) return [...DEFAULT_PARTNER_SCOPES];
  const out = SCOPES.filter((s) => scopes.includes(s));
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || out.length === 0)
    throw bad(`scopes must be a non-empty subset of: ${SCOPES.join(' ')}`);
  return out;
}

export function validatePolicy(policy: unknown): string {
  if (policy === undefined) return '{}';
  const text = JSON.stringify(policy);
  try {
    parseClientPolicy(text);
  } catch (cause) {
    throw bad(`invalid policy: ${(cause as Error).message}`, cause);
  }
  return text;
}

export async function validateRegistration(input: ClientRegistration, now: Date): Promise<ClientRecord> {
  if (!ID_PATTERN.test(input.clientId)) throw bad(`client id must match ${ID_PATTERN.source}`);
  if (!ID_PATTERN.test(input.tenantId)) throw bad(`tenant must match ${ID_PATTERN.source}`);
  const authMethod = input.authMethod ?? 'tls_client_auth';
  if (!CLIENT_AUTH_METHODS.includes(authMethod))
    throw bad(`auth method must be one of ${CLIENT_AUTH_METHODS.join(', ')}`);
  const lifetime = input.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(lifetime) || lifetime < 30 || lifetime > 3600) {
    throw bad('token lifetime must be an integer from 30 to 3600 seconds');
  }
  let tlsClientAuthSanUri: string | null = null;
  let jwks: ClientRecord['jwks'] = null;
  if (authMethod === 'tls_client_auth') {
    if (input.jwks !== undefined || input.certificatePem !== undefined) {
      throw bad('tls_client_auth takes no JWKS or certificate: the fleetgate CA issues the certificate');
    }
    tlsClientAuthSanUri = identityUri('partner', input.clientId);
  } else if (authMethod === 'self_signed_tls_client_auth') {
    if (input.certificatePem === undefined && input.jwks === undefined) {
      throw bad('self_signed_tls_client_auth needs the client certificate (--cert) or a JWKS with x5c');
    }
    if (input.certificatePem !== undefined) {
      tlsClientAuthSanUri = selfSignedCertificateThumbprint(input.certificatePem, now);
    }
    if (input.jwks !== undefined) jwks = validateSelfSignedJwks(input.jwks, now);
  } else {
    if (input.jwks === undefined) throw bad('private_key_jwt needs the client public keys (--jwks)');
    if (input.certificatePem !== undefined) throw bad('private_key_jwt takes no certificate');
    jwks = await validatePublicJwks(input.jwks);
  }
  return {
    clientId: input.clientId,
    tenantId: input.tenantId,
    authMethod,
    tlsClientAuthSanUri,
    jwks,
    scopes: validateScopes(input.scopes),
    tokenLifetimeSeconds: lifetime,
    policy: validatePolicy(input.policy),
  };
}

export async function registerClient(
  deps: { store: Store; audit: AuditLog; now: () => Date },
  input: ClientRegistration,
  actor: AuditActor,
): Promise<OAuthClient> {
  const now = deps.now();
  const record = await validateRegistration(input, now);
  return deps.store.transaction(async (tx) => {
    if (!(await insertClient(tx, record, now))) {
      throw new AuthServerError('AS_CLIENT_EXISTS', `client ${record.clientId} is already registered`);
    }
    await deps.audit.appendInTx(tx, {
      class: 'auth.client.registered',
      actor,
      subject: { kind: 'oauth-client', id: record.clientId },
      outcome: 'recorded',
      details: {
        tenant: record.tenantId,
        authMethod: record.authMethod,
        scope: record.scopes.join(' '),
        tokenLifetimeSeconds: record.tokenLifetimeSeconds,
        policy: record.policy,
      },
    });
    const client = await findClient(tx, record.clientId);
    if (client === undefined)
      throw new AuthServerError('AS_CLIENT_NOT_FOUND', 'registered client cannot be read back');
    return client;
  });
}
