/**
 * Checks a DPoP proof (RFC 9449 §4.3) presented with a DPoP-bound access token (§7.1), in this order:
 *
 *   - exactly one DPoP header (credentials.ts), and it is present;
 *   - a single well-formed JWS of at most MAX_PROOF_BYTES (defensive parse, compact-jws.ts);
 *   - `typ` is `dpop+jwt`; `alg` is asymmetric and on the allow-list (never `none`, never HMAC); no `crit`;
 *   - `jwk` is a public key that fits `alg`: any private member (`d`, `p`, `k`, …) refuses the proof — a
 *     client that sends its private key with every request has no key left to be bound to;
 *   - the signature verifies with that key, over the bytes received;
 *   - `jti`, `htm`, `htu` and `iat` are present; `htm` is the request method and `htu` the request URI,
 *     compared without query and fragment (scheme and host case-insensitively, default port dropped);
 *   - a server nonce, when required, is one issued recently (auth/server/dpop-nonce.ts) — else
 *     `use_dpop_nonce`;
 *   - `iat` is within [now − proofMaxAge − skew, now + skew];
 *   - `ath` is the base64url SHA-256 of the access token;
 * and returns the proof key's RFC 7638 thumbprint for the caller to compare with `cnf.jkt`. `jti`
 * uniqueness (§11.1) is recorded last by the caller, in the store shared by every node (dpop-replay.ts),
 * so a replay fails on any node. Threat: a stolen access token used without the key, or a proof
 * replayed, pre-computed, or made for another request.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, type JWK } from 'jose';
import { decodeCompactJws, isForbiddenAlgorithm, JwsDecodeError } from './internal/compact-jws.ts';
import { AuthRefusal } from './refusal.ts';
import { hasPrivateMembers, keyTypeFor, publicKeyOf } from './token-issuer.ts';

export const MAX_PROOF_BYTES = 8 * 1024;

export interface DpopRequest {
  method: string;
  /** The request URI as received: https://<Host><path>[?query]. */
  url: string;
  accessToken: string;
  now: Date;
  proofMaxAgeSeconds: number;
  clockSkewSeconds: number;
  algorithms: readonly string[];
  /** undefined: nonces are not required. */
  nonceValid: ((nonce: string) => boolean) | undefined;
}

export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key, base64url. */
  jkt: string;
  jti: string;
  iat: number;
}

function refuse(code: ConstructorParameters<typeof AuthRefusal>[0], detail: string): never {
  const refusal = new AuthRefusal(code, detail);
  refusal.scheme = 'DPoP';
  throw refusal;
}

/** scheme://host[:port]/path with default ports removed and the host lower-cased; undefined if unusable. */
export function comparableUri(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return undefined;
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

export async function verifyDpopProof(proof: string | undefined, request: DpopRequest): Promise<DpopProof> {
  if (proof === undefined)
    refuse('AUTH_DPOP_PROOF_INVALID', 'a DPoP header is required with a DPoP-bound token');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    ({ header, payload: claims } = decodeCompactJws(proof, MAX_PROOF_BYTES));
  } catch (error) {
    if (error instanceof JwsDecodeError) refuse('AUTH_DPOP_PROOF_INVALID', `proof ${error.message}`);
    throw error;
  }
  if (typeof header.typ !== 'string' || header.typ.toLowerCase().replace(/^application\//, '') !== 'dpop+jwt')
    refuse('AUTH_DPOP_PROOF_INVALID', '"typ" must be dpop+jwt');
  const alg = header.alg;
  if (typeof alg !== 'string' || isForbiddenAlgorithm(alg) || !request.algorithms.includes(alg))
    refuse('AUTH_DPOP_PROOF_INVALID', `"alg" must be one of ${request.algorithms.join(', ')}`);
  if ('crit' in header) refuse('AUTH_DPOP_PROOF_INVALID', 'unknown critical header parameter');
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    refuse('AUTH_DPOP_PROOF_INVALID', 'the "jwk" header is required');
  const jwkObject = jwk as Record<string, unknown>;
  if (hasPrivateMembers(jwkObject)) refuse('AUTH_DPOP_PROOF_INVALID', '"jwk" contains private key material');
  const type = keyTypeFor(alg);
  if (
    type === undefined ||
    jwkObject.kty !== type.kty ||
    (type.crv !== undefined && jwkObject.crv !== type.crv)
  )
    refuse('AUTH_DPOP_PROOF_INVALID', '"jwk" does not fit "alg"');
  const key = publicKeyOf(jwkObject);
  if (key === undefined) refuse('AUTH_DPOP_PROOF_INVALID', '"jwk" is not a usable public key');
  try {
    await compactVerify(proof, key, { algorithms: [alg] });
  } catch (cause) {
    throw Object.assign(
      new AuthRefusal('AUTH_DPOP_PROOF_INVALID', 'the proof signature does not verify', { cause }),
      {
        scheme: 'DPoP' as const,
      },
    );
  }

  const { jti, htm, htu, iat, ath, nonce } = claims;
  if (typeof jti !== 'string' || jti.length < 1 || jti.length > 256)
    refuse('AUTH_DPOP_PROOF_INVALID', '"jti" is missing');
  if (typeof htm !== 'string' || typeof htu !== 'string' || typeof iat !== 'number' || !Number.isFinite(iat))
    refuse('AUTH_DPOP_PROOF_INVALID', '"htm", "htu" and "iat" are required');
  if (htm !== request.method) refuse('AUTH_DPOP_PROOF_MISMATCH', '"htm" is not the request method');
  const expected = comparableUri(request.url);
  if (expected === undefined || comparableUri(htu) !== expected)
    refuse('AUTH_DPOP_PROOF_MISMATCH', '"htu" is not the request URI');
  if (request.nonceValid !== undefined && (typeof nonce !== 'string' || !request.nonceValid(nonce)))
    refuse('AUTH_DPOP_NONCE_REQUIRED', nonce === undefined ? 'the proof has no nonce' : 'the nonce is stale');
  const now = request.now.getTime() / 1000;
  if (iat < now - request.proofMaxAgeSeconds - request.clockSkewSeconds)
    refuse('AUTH_DPOP_PROOF_STALE', '"iat" is too old');
  if (iat > now + request.clockSkewSeconds) refuse('AUTH_DPOP_PROOF_STALE', '"iat" is in the future');
  const expectedAth = createHash('sha256').update(request.accessToken, 'ascii').digest('base64url');
  if (ath !== expectedAth) refuse('AUTH_DPOP_ATH_MISMATCH', '"ath" is not the hash of the access token');
  const jkt = await calculateJwkThumbprint(jwkObject as JWK, 'sha256');
  return { jkt, jti, iat };
}
