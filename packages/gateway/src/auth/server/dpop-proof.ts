/**
 * Checks a DPoP proof sent to the token endpoint (RFC 9449 §4.2, §4.3, §8, §11.1) and returns the
 * thumbprint (RFC 7638) of its key, which becomes the token's `cnf.jkt`. In the order of §4.3: exactly
 * one DPoP header; a compact JWS of at most 8 KiB; `typ` dpop+jwt; an asymmetric `alg` on the allow-list;
 * a public `jwk` (private members or a symmetric key refused); the signature with that key over the bytes
 * received; `jti`, `htm` = POST, `htu` = this endpoint (query and fragment ignored); `iat` within the
 * window; a current server nonce (else `use_dpop_nonce` with a fresh DPoP-Nonce); and — separately, once
 * the client has authenticated — the `jti` not seen before for this key on any node (table oauth_replay).
 *
 * Threats: a proof replayed or pre-computed by a thief (jti cache, nonce, iat window); a proof made with
 * a MAC or `none` (alg allow-list); a private key in the header (refused: it must never travel); a proof
 * for another endpoint or method (htm/htu). jku/x5u/x5c are never followed: the key is the `jwk` only.
 */
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from 'jose';
import type { Queryable } from '../../store/store.ts';
import type { DpopNonces } from './dpop-nonce.ts';
import { OAuthError } from './errors.ts';

export const MAX_DPOP_PROOF_BYTES = 8 * 1024;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

export interface DpopProofOptions {
  /** Every DPoP header value the request carried (a proof sent twice is refused). */
  headers: readonly string[];
  method: string;
  /** The URLs this endpoint is known by; htu must equal one of them without query and fragment. */
  urls: readonly string[];
  algorithms: readonly string[];
  now: Date;
  maxAgeSeconds: number;
  skewSeconds: number;
  nonces: DpopNonces;
  nonceRequired: boolean;
}

export interface CheckedDpopProof {
  jkt: string;
  jti: string;
  /** When the jti may be forgotten. */
  replayUntil: Date;
}

function invalid(reason: string, description: string, cause?: unknown): OAuthError {
  return new OAuthError('invalid_dpop_proof', 'OAUTH_DPOP_PROOF_INVALID', description, {
    reason,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** scheme://host[:port]/path, lower-case scheme and host, default port dropped; undefined if unparseable. */
export function normalizeHtu(value: string): string | undefined {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

export async function checkDpopProof(options: DpopProofOptions): Promise<CheckedDpopProof> {
  if (options.headers.length !== 1) throw invalid('DPOP_HEADER_COUNT', 'exactly one DPoP header is required');
  const proof = options.headers[0] ?? '';
  if (proof.length > MAX_DPOP_PROOF_BYTES) throw invalid('DPOP_TOO_LARGE', 'DPoP proof is too large');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch (cause) {
    throw invalid('DPOP_MALFORMED', 'DPoP proof is not a compact JWS', cause);
  }
  if (header.typ !== 'dpop+jwt') throw invalid('DPOP_TYP', 'DPoP proof typ must be dpop+jwt');
  if (typeof header.alg !== 'string' || !options.algorithms.includes(header.alg)) {
    throw invalid('DPOP_ALG', 'DPoP proof alg is not an allowed asymmetric algorithm');
  }
  const jwk = header.jwk as JWK | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw invalid('DPOP_JWK', 'DPoP proof must carry its public key in jwk');
  }
  if (PRIVATE_MEMBERS.some((m) => m in jwk) || jwk.kty === 'oct') {
    throw invalid('DPOP_PRIVATE_KEY', 'DPoP proof jwk must be a public key');
  }
  let payload: Record<string, unknown>;
  try {
    const key = await importJWK(jwk, header.alg);
    if (key instanceof Uint8Array) throw new Error('symmetric key');
    ({ payload } = await jwtVerify(proof, key, {
      algorithms: [header.alg],
      typ: 'dpop+jwt',
      currentDate: options.now,
      clockTolerance: options.skewSeconds,
    }));
  } catch (cause) {
    throw invalid('DPOP_SIGNATURE', 'DPoP proof signature or claims do not verify', cause);
  }
  const { jti, htm, htu, iat } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
    throw invalid('DPOP_CLAIMS', 'DPoP proof jti is missing or too long');
  }
  if (htm !== options.method) throw invalid('DPOP_HTM', 'DPoP proof htm does not match the request');
  const target = typeof htu === 'string' ? normalizeHtu(htu) : undefined;
  if (target === undefined || !options.urls.some((u) => normalizeHtu(u) === target)) {
    throw invalid('DPOP_HTU', 'DPoP proof htu does not match the token endpoint');
  }
  const nowSeconds = options.now.getTime() / 1000;
  if (typeof iat !== 'number' || !Number.isFinite(iat))
    throw invalid('DPOP_CLAIMS', 'DPoP proof iat is missing');
  if (iat > nowSeconds + options.skewSeconds)
    throw invalid('DPOP_IAT_FUTURE', 'DPoP proof iat is in the future');
  if (iat < nowSeconds - options.maxAgeSeconds - options.skewSeconds) {
    throw invalid('DPOP_IAT_STALE', 'DPoP proof is too old');
  }
  if (options.nonceRequired && !options.nonces.verify(payload.nonce)) {
    throw new OAuthError('use_dpop_nonce', 'OAUTH_DPOP_NONCE_REQUIRED', 'a DPoP server nonce is required', {
      reason: payload.nonce === undefined ? 'DPOP_NONCE_MISSING' : 'DPOP_NONCE_STALE',
      headers: { 'dpop-nonce': options.nonces.issue() },
    });
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  const replayUntil = new Date((iat + options.maxAgeSeconds + 2 * options.skewSeconds) * 1000);
  return { jkt, jti, replayUntil };
}

/** Records the proof's jti for its key; a second use anywhere is refused (RFC 9449 §11.1). */
export async function consumeDpopProof(q: Queryable, proof: CheckedDpopProof): Promise<void> {
  const rows = await q.query(
    `INSERT INTO oauth_replay (kind, issuer, jti, expires_at) VALUES ('dpop', $1, $2, $3)
     ON CONFLICT DO NOTHING RETURNING jti`,
    [proof.jkt, proof.jti, proof.replayUntil],
  );
  if (rows.length !== 1) throw invalid('DPOP_REPLAYED', 'DPoP proof was already used');
}
