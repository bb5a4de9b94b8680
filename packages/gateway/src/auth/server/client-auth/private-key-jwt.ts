/**
 * private_key_jwt client authentication (RFC 7523 §2.2 and §3, RFC 7521 §4.2; OpenID Connect Core §9):
 * the client signs a short JWT with a key whose public half it registered (oauth_clients.jwks).
 *
 * Checks, each a fixed audit reason: at most 8 KiB (ASSERTION_TOO_LARGE); a compact JWS
 * (ASSERTION_MALFORMED); `alg` on the asymmetric allow-list — `none` and every HS* are refused, so a
 * public key can never be used as an HMAC secret (ASSERTION_ALG); no `jku`, `x5u`, `jwk` or `x5c` header:
 * the key is only ever the registered one, nothing the request names is fetched or trusted
 * (ASSERTION_HEADER); a registered key for the `kid`/`alg` (ASSERTION_KEY_UNKNOWN); the signature over the
 * received bytes (ASSERTION_SIGNATURE); `iss` = `sub` = client_id (ASSERTION_ISSUER); `aud` = the issuer
 * or the token endpoint URL (ASSERTION_AUDIENCE); `exp` present and not past, `nbf`/`iat` not in the
 * future, beyond the allowed skew (ASSERTION_EXPIRED, ASSERTION_NOT_YET_VALID); `exp` at most
 * `auth.assertionMaxLifetimeSeconds` ahead (ASSERTION_LIFETIME: the jti cache need not grow without
 * bound); `jti` present (ASSERTION_CLAIMS) and — after the signature — never seen before for this client
 * on any node (ASSERTION_REPLAYED, table oauth_replay).
 */
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  jwtVerify,
} from 'jose';
import { ID_PATTERN } from '../../../config/config.ts';
import type { Queryable } from '../../../store/store.ts';
import type { OAuthClient } from '../client-registry.ts';
import { clientAuthFailed, type OAuthError } from '../errors.ts';

export const MAX_ASSERTION_BYTES = 8 * 1024;
/** Asymmetric JWS algorithms accepted for client assertions. */
export const ASSERTION_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'PS256',
  'RS256',
] as const;
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const ACCEPTED_TYP = new Set([undefined, 'JWT', 'jwt', 'client-authentication+jwt']);

export interface AssertionOptions {
  /** Accepted `aud` values: the issuer and the token endpoint URL(s). */
  audiences: readonly string[];
  now: Date;
  skewSeconds: number;
  maxLifetimeSeconds: number;
}

export interface VerifiedAssertion {
  jti: string;
  /** When the jti may be forgotten. */
  replayUntil: Date;
}

/**
 * The client id an assertion claims (its `iss`), read without verifying anything: it only selects the
 * registered keys and the rate-limit and lockout buckets. Everything is verified afterwards.
 */
export function claimedClientId(assertion: string): string {
  if (assertion.length > MAX_ASSERTION_BYTES) {
    throw clientAuthFailed('ASSERTION_TOO_LARGE', 'client assertion is too large');
  }
  let iss: unknown;
  try {
    decodeProtectedHeader(assertion);
    iss = decodeJwt(assertion).iss;
  } catch (cause) {
    throw clientAuthFailed('ASSERTION_MALFORMED', 'client assertion is not a JWT', cause);
  }
  if (typeof iss !== 'string' || !ID_PATTERN.test(iss)) {
    throw clientAuthFailed('ASSERTION_ISSUER', 'client assertion iss must be the client_id');
  }
  return iss;
}

function mapJoseError(error: unknown): OAuthError {
  if (error instanceof errors.JWTExpired) {
    return clientAuthFailed('ASSERTION_EXPIRED', 'client assertion has expired', error);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') {
      return clientAuthFailed('ASSERTION_AUDIENCE', 'client assertion aud is not this server', error);
    }
    if (error.claim === 'iss' || error.claim === 'sub') {
      return clientAuthFailed(
        'ASSERTION_ISSUER',
        'client assertion iss and sub must be the client_id',
        error,
      );
    }
    if (error.claim === 'nbf' || error.claim === 'iat') {
      return clientAuthFailed('ASSERTION_NOT_YET_VALID', 'client assertion is not yet valid', error);
    }
    return clientAuthFailed('ASSERTION_CLAIMS', 'client assertion claims are missing or invalid', error);
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return clientAuthFailed('ASSERTION_KEY_UNKNOWN', 'no registered key matches the client assertion', error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return clientAuthFailed('ASSERTION_ALG', 'client assertion alg is not allowed', error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return clientAuthFailed('ASSERTION_SIGNATURE', 'client assertion signature does not verify', error);
  }
  return clientAuthFailed('ASSERTION_MALFORMED', 'client assertion is not acceptable', error);
}

/** Verifies the assertion against the client's registered keys; does not consume its jti. */
export async function verifyClientAssertion(
  assertion: string,
  client: OAuthClient,
  options: AssertionOptions,
): Promise<VerifiedAssertion> {
  const header = decodeProtectedHeader(assertion);
  if (typeof header.alg !== 'string' || !(ASSERTION_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw clientAuthFailed('ASSERTION_ALG', 'client assertion alg must be an allowed asymmetric algorithm');
  }
  if (FORBIDDEN_HEADERS.some((name) => name in header)) {
    throw clientAuthFailed('ASSERTION_HEADER', 'client assertion must not carry jku, x5u, jwk or x5c');
  }
  if (!ACCEPTED_TYP.has(header.typ)) {
    throw clientAuthFailed('ASSERTION_HEADER', 'client assertion typ is not acceptable');
  }
  if (client.jwks === null || client.jwks.keys.length === 0) {
    throw clientAuthFailed('CLIENT_NO_KEYS', 'the client has no registered keys');
  }
  let payload: Record<string, unknown>;
  try {
    const keys = createLocalJWKSet(client.jwks as JSONWebKeySet);
    ({ payload } = await jwtVerify(assertion, keys, {
      algorithms: [...ASSERTION_ALGORITHMS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: [...options.audiences],
      currentDate: options.now,
      clockTolerance: options.skewSeconds,
      requiredClaims: ['exp', 'jti'],
    }));
  } catch (error) {
    throw mapJoseError(error);
  }
  const now = options.now.getTime() / 1000;
  const { exp, iat, jti } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
    throw clientAuthFailed('ASSERTION_CLAIMS', 'client assertion jti is missing or too long');
  }
  if (typeof iat === 'number' && iat > now + options.skewSeconds) {
    throw clientAuthFailed('ASSERTION_NOT_YET_VALID', 'client assertion iat is in the future');
  }
  if (typeof exp !== 'number' || exp > now + options.maxLifetimeSeconds + options.skewSeconds) {
    throw clientAuthFailed('ASSERTION_LIFETIME', 'client assertion lives too long');
  }
  return { jti, replayUntil: new Date((exp + options.skewSeconds) * 1000) };
}

/** Records the assertion's jti for its client; a second use on any node is refused (RFC 7523 §3 item 7). */
export async function consumeAssertion(
  q: Queryable,
  clientId: string,
  verified: VerifiedAssertion,
): Promise<void> {
  const rows = await q.query(
    `INSERT INTO oauth_replay (kind, issuer, jti, expires_at) VALUES ('assertion', $1, $2, $3)
     ON CONFLICT DO NOTHING RETURNING jti`,
    [clientId, verified.jti, verified.replayUntil],
  );
  if (rows.length !== 1) throw clientAuthFailed('ASSERTION_REPLAYED', 'client assertion was already used');
}
