/**
 * Validates a JWT access token (RFC 9068 §4, RFC 8725) for the control plane, in this order:
 *
 *   1. size ≤ maxTokenBytes (before any decoding), compact JWS, JSON header and claims (defensive parse);
 *   2. header: `alg` neither `none` nor HMAC (an issuer's public key must never become an HMAC secret);
 *      no `jku`/`x5u`/`jwk`/`x5c` (never fetched, never trusted); no `crit` (we understand no extension,
 *      so every critical one is unknown — RFC 7515 §4.1.11); `kid`, if any, a plain identifier
 *      (no `/`, so no `../`);
 *   3. `iss` selects a configured issuer (fleetgate's own, or an external one) — unknown issuers stop here;
 *      `alg` must be on that issuer's allow-list and `typ` one of its token types (`at+jwt`);
 *   4. the issuer's key for (`kid`, `alg`) verifies the signature over the received bytes (jose);
 *   5. claims: `aud` contains our audience; `exp` required and not past, `nbf` and `iat` not in the
 *      future — each with `clockSkewSeconds` of tolerance against the injected clock; `sub`, `jti`,
 *      `scope`, the client id (and `tenant` for fleetgate's issuer) present and well-typed; `cnf` names
 *      exactly one binding, `x5t#S256` (RFC 8705 §3.1) or `jkt` (RFC 9449 §6.1): unbound tokens are refused.
 *
 * Every failure is an AuthRefusal with its own code; the detail never quotes the token.
 */
import { compactVerify } from 'jose';
import {
  decodeCompactJws,
  isForbiddenAlgorithm,
  JwsDecodeError,
  KEY_BEARING_HEADERS,
} from './internal/compact-jws.ts';
import { AuthRefusal } from './refusal.ts';
import { normaliseType, type TokenIssuer } from './token-issuer.ts';

export type TokenBinding = { kind: 'x5t#S256'; value: string } | { kind: 'jkt'; value: string };

export interface AccessToken {
  issuer: TokenIssuer;
  subject: string;
  clientId: string;
  scopes: string[];
  /** Present on fleetgate's tokens; external issuers' tenants come from the client registration. */
  tenant: string | undefined;
  jti: string;
  expiresAt: number;
  binding: TokenBinding;
}

export interface VerifyAccessTokenOptions {
  issuers: ReadonlyMap<string, TokenIssuer>;
  now: Date;
  clockSkewSeconds: number;
  maxTokenBytes: number;
}

export const KID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._~+=:-]{0,127}$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/; // RFC 6749 §3.3 scope-token
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/; // base64url of 32 bytes, unpadded
const ID_CLAIM = /^[\x21-\x7e]{1,256}$/;

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function refuse(code: ConstructorParameters<typeof AuthRefusal>[0], detail: string): never {
  throw new AuthRefusal(code, detail);
}

function stringClaim(payload: Record<string, unknown>, name: string): string {
  const value = payload[name];
  if (typeof value !== 'string' || !ID_CLAIM.test(value))
    refuse('AUTH_TOKEN_CLAIMS', `"${name}" is missing or invalid`);
  return value;
}

function bindingOf(cnf: unknown): TokenBinding {
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf))
    refuse('AUTH_TOKEN_UNBOUND', 'no "cnf" claim');
  const x5t = (cnf as Record<string, unknown>)['x5t#S256'];
  const jkt = (cnf as Record<string, unknown>).jkt;
  if ((x5t === undefined) === (jkt === undefined))
    refuse('AUTH_TOKEN_UNBOUND', '"cnf" must hold exactly one of "x5t#S256" and "jkt"');
  const value = x5t ?? jkt;
  if (typeof value !== 'string' || !THUMBPRINT.test(value))
    refuse('AUTH_TOKEN_UNBOUND', 'the "cnf" thumbprint is not a base64url SHA-256');
  return x5t !== undefined ? { kind: 'x5t#S256', value } : { kind: 'jkt', value };
}

export async function verifyAccessToken(
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<AccessToken> {
  // 1. size and structure
  if (Buffer.byteLength(token) > options.maxTokenBytes)
    refuse('AUTH_TOKEN_TOO_LARGE', `access tokens are limited to ${options.maxTokenBytes} bytes`);
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    ({ header, payload } = decodeCompactJws(token, options.maxTokenBytes));
  } catch (error) {
    if (error instanceof JwsDecodeError) refuse('AUTH_TOKEN_MALFORMED', error.message);
    throw error;
  }

  // 2. header parameters that are refused whoever the issuer is
  const alg = header.alg;
  if (typeof alg !== 'string' || isForbiddenAlgorithm(alg))
    refuse('AUTH_TOKEN_ALGORITHM', 'alg "none" and HMAC algorithms are never accepted');
  for (const name of KEY_BEARING_HEADERS) {
    if (name in header) refuse('AUTH_TOKEN_HEADER', `the "${name}" header is not accepted`);
  }
  if ('crit' in header) refuse('AUTH_TOKEN_HEADER', 'unknown critical header parameter');
  const kid = header.kid;
  if (kid !== undefined && (typeof kid !== 'string' || !KID_PATTERN.test(kid)))
    refuse('AUTH_TOKEN_HEADER', '"kid" is not a plain key identifier');

  // 3. the issuer, its algorithms and token types
  const iss = payload.iss;
  const issuer = typeof iss === 'string' ? options.issuers.get(iss) : undefined;
  if (issuer === undefined) refuse('AUTH_TOKEN_ISSUER', '"iss" is not a trusted issuer');
  if (!issuer.algorithms.includes(alg))
    refuse('AUTH_TOKEN_ALGORITHM', `this issuer signs with ${issuer.algorithms.join(', ')}`);
  if (typeof header.typ !== 'string' || !issuer.tokenTypes.includes(normaliseType(header.typ)))
    refuse('AUTH_TOKEN_HEADER', `"typ" must be ${issuer.tokenTypes.join(' or ')}`);

  // 4. the signature, over the bytes received
  const key = await issuer.key(kid as string | undefined, alg);
  try {
    await compactVerify(token, key, { algorithms: [alg] });
  } catch (cause) {
    throw new AuthRefusal('AUTH_TOKEN_SIGNATURE', 'the signature does not verify', { cause });
  }

  // 5. claims
  const aud = payload.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(issuer.audience))
    refuse('AUTH_TOKEN_AUDIENCE', `"aud" must contain ${issuer.audience}`);
  const now = options.now.getTime() / 1000;
  const skew = options.clockSkewSeconds;
  if (!isNumericDate(payload.exp)) refuse('AUTH_TOKEN_EXPIRED', '"exp" is missing');
  if (now >= payload.exp + skew) refuse('AUTH_TOKEN_EXPIRED', '"exp" is past');
  if (payload.nbf !== undefined && (!isNumericDate(payload.nbf) || payload.nbf > now + skew))
    refuse('AUTH_TOKEN_NOT_YET_VALID', '"nbf" is in the future');
  if (payload.iat === undefined && issuer.kind === 'local') refuse('AUTH_TOKEN_CLAIMS', '"iat" is missing');
  if (payload.iat !== undefined && (!isNumericDate(payload.iat) || payload.iat > now + skew))
    refuse('AUTH_TOKEN_NOT_YET_VALID', '"iat" is in the future');

  const subject = stringClaim(payload, 'sub');
  const jti = stringClaim(payload, 'jti');
  const idClaim = issuer.clientIdClaims.find((name) => payload[name] !== undefined);
  if (idClaim === undefined) refuse('AUTH_TOKEN_CLAIMS', 'no client id claim');
  const clientId = stringClaim(payload, idClaim);
  if (issuer.kind === 'local' && subject !== clientId)
    refuse('AUTH_TOKEN_CLAIMS', '"sub" must be the client id for client credentials');
  const scope = payload.scope;
  if (typeof scope !== 'string' || scope.length > 1024)
    refuse('AUTH_TOKEN_CLAIMS', '"scope" is missing or invalid');
  const scopes = scope.split(' ').filter((s) => s !== '');
  if (!scopes.every((s) => SCOPE_TOKEN.test(s)))
    refuse('AUTH_TOKEN_CLAIMS', '"scope" is not a list of scope tokens');
  const tenant =
    payload.tenant === undefined && issuer.kind === 'external' ? undefined : stringClaim(payload, 'tenant');
  const binding = bindingOf(payload.cnf);
  return { issuer, subject, clientId, scopes, tenant, jti, expiresAt: payload.exp, binding };
}
