/**
 * Client authentication at /oauth/token, /oauth/introspect and /oauth/revoke (RFC 6749 §2.3, RFC 8705 §2,
 * RFC 7523 §2.2), in two steps so abuse limits can run between them:
 *
 *  identifyClient — cheap, no crypto, no store: which method the request uses and which client it claims.
 *    Client secrets are not offered at all: an Authorization header or a client_secret parameter is a
 *    failed authentication (CLIENT_SECRET_REFUSED). Exactly one method: a client assertion, or else the
 *    connection's certificate. mTLS requests must name client_id (RFC 8705 §2); an assertion's iss must
 *    equal a client_id sent alongside.
 *  verifyClient — the registered client exists, is registered for the method used (no downgrade from
 *    private_key_jwt to a certificate or back), and the credential verifies (mtls.ts, private-key-jwt.ts).
 *    The assertion's jti is consumed last, only once everything else passed.
 */
import type { IncomingMessage } from 'node:http';
import { ID_PATTERN } from '../../../config/config.ts';
import type { Queryable } from '../../../store/store.ts';
import { findClient, type OAuthClient } from '../client-registry.ts';
import { clientAuthFailed, invalidRequest } from '../errors.ts';
import type { FormParams } from '../form.ts';
import { type ConnectionCertificate, connectionCertificate } from './connection-certificate.ts';
import { authenticateMtlsClient } from './mtls.ts';
import { claimedClientId, consumeAssertion, verifyClientAssertion } from './private-key-jwt.ts';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientClaim {
  method: 'mtls' | 'private_key_jwt';
  clientId: string;
  assertion: string | undefined;
  certificate: ConnectionCertificate | undefined;
}

export interface AuthenticatedClient {
  client: OAuthClient;
  /** The registered method that succeeded. */
  method: OAuthClient['authMethod'];
  certificate: ConnectionCertificate | undefined;
}

export interface VerifyOptions {
  store: Queryable;
  audiences: readonly string[];
  now: Date;
  skewSeconds: number;
  assertionMaxLifetimeSeconds: number;
}

export function identifyClient(
  form: FormParams,
  raw: IncomingMessage,
): { claim?: ClientClaim; clientId?: string; error?: Error } {
  const certificate = connectionCertificate(raw);
  const clientIdParam = form.get('client_id');
  const partial = clientIdParam !== undefined && ID_PATTERN.test(clientIdParam) ? clientIdParam : undefined;
  try {
    if (raw.headers.authorization !== undefined || form.has('client_secret')) {
      throw clientAuthFailed(
        'CLIENT_SECRET_REFUSED',
        'client secrets are not offered; use mTLS or private_key_jwt',
      );
    }
    const assertion = form.get('client_assertion');
    const assertionType = form.get('client_assertion_type');
    if (assertion !== undefined || assertionType !== undefined) {
      if (assertionType !== JWT_BEARER_ASSERTION_TYPE || assertion === undefined) {
        throw invalidRequest('ASSERTION_TYPE', `client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}`);
      }
      const clientId = claimedClientId(assertion);
      if (clientIdParam !== undefined && clientIdParam !== clientId) {
        throw clientAuthFailed('CLIENT_ID_MISMATCH', 'client_id does not match the client assertion');
      }
      return { claim: { method: 'private_key_jwt', clientId, assertion, certificate }, clientId };
    }
    if (clientIdParam === undefined) {
      throw invalidRequest(
        'CLIENT_ID_MISSING',
        'client_id is required with mutual-TLS client authentication',
      );
    }
    if (partial === undefined) throw clientAuthFailed('CLIENT_UNKNOWN', 'unknown client');
    return {
      claim: { method: 'mtls', clientId: partial, assertion: undefined, certificate },
      clientId: partial,
    };
  } catch (error) {
    return { ...(partial === undefined ? {} : { clientId: partial }), error: error as Error };
  }
}

export async function verifyClient(claim: ClientClaim, options: VerifyOptions): Promise<AuthenticatedClient> {
  const client = await findClient(options.store, claim.clientId);
  if (client === undefined) throw clientAuthFailed('CLIENT_UNKNOWN', 'unknown client');
  const usesAssertion = claim.method === 'private_key_jwt';
  if (usesAssertion !== (client.authMethod === 'private_key_jwt')) {
    throw clientAuthFailed('METHOD_MISMATCH', 'the client is registered for another authentication method');
  }
  if (claim.method === 'mtls') {
    authenticateMtlsClient(client, claim.certificate, options.now, options.skewSeconds);
    return { client, method: client.authMethod, certificate: claim.certificate };
  }
  // private_key_jwt over a connection whose fleetgate certificate names another partner: refused, so a
  // token can never be bound to one partner's certificate while issued to another.
  const identity = claim.certificate?.identity;
  if (identity !== undefined && (identity.kind !== 'partner' || identity.id !== client.clientId)) {
    throw clientAuthFailed('CERT_CLIENT_MISMATCH', 'the connection certificate names another client');
  }
  const verified = await verifyClientAssertion(claim.assertion ?? '', client, {
    audiences: options.audiences,
    now: options.now,
    skewSeconds: options.skewSeconds,
    maxLifetimeSeconds: options.assertionMaxLifetimeSeconds,
  });
  await consumeAssertion(options.store, client.clientId, verified);
  return { client, method: client.authMethod, certificate: claim.certificate };
}
