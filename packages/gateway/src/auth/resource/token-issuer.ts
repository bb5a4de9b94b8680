/**
 * A trusted access-token issuer as the resource server sees it: who it is (`iss`), what audience and
 * algorithms it uses, and how to find its verification key — fleetgate's own authorization server (keys
 * on disk, local-issuer.ts) or an external one known through RFC 8414 metadata (external-issuer.ts).
 *
 * Key selection from a JWK Set (RFC 7517 §5) is here, shared by both: a key is a candidate only if its
 * `kid` equals the token's, its `use` (if any) is `sig`, its `alg` (if any) equals the token's, and its
 * key type fits the algorithm; private members are never accepted (a published private key is a
 * configuration error, not a key). A token without `kid` is accepted only when exactly one key fits.
 * Threat: algorithm confusion (an RSA key used as an HMAC secret) and key injection through the token's
 * own headers — keys come only from the issuer's configured key set.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { AuthRefusal } from './refusal.ts';

export interface TokenIssuer {
  readonly kind: 'local' | 'external';
  /** The exact `iss` value. */
  readonly issuer: string;
  /** The `aud` value that must be present. */
  readonly audience: string;
  readonly algorithms: readonly string[];
  /** Accepted JOSE `typ` values, lower-case, without the `application/` prefix. */
  readonly tokenTypes: readonly string[];
  /** Claims naming the client, tried in order. */
  readonly clientIdClaims: readonly string[];
  /** The verification key; throws AuthRefusal(AUTH_TOKEN_KEY_UNKNOWN) or GatewayError(AUTH_ISSUER_UNAVAILABLE). */
  key(kid: string | undefined, alg: string): Promise<KeyObject>;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

/** The JWK key type and curve an algorithm requires. */
export function keyTypeFor(alg: string): { kty: string; crv?: string } | undefined {
  if (alg === 'ES256') return { kty: 'EC', crv: 'P-256' };
  if (alg === 'ES384') return { kty: 'EC', crv: 'P-384' };
  if (alg === 'ES512') return { kty: 'EC', crv: 'P-521' };
  if (alg === 'EdDSA' || alg === 'Ed25519') return { kty: 'OKP', crv: 'Ed25519' };
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return { kty: 'RSA' };
  return undefined;
}

export function hasPrivateMembers(jwk: Record<string, unknown>): boolean {
  return PRIVATE_MEMBERS.some((m) => m in jwk);
}

/** The public KeyObject of a JWK, or undefined when it is not a usable public key. */
export function publicKeyOf(jwk: Record<string, unknown>): KeyObject | undefined {
  if (hasPrivateMembers(jwk)) return undefined;
  try {
    const key = createPublicKey({ key: jwk as JWK & { kty: string }, format: 'jwk' });
    return key.type === 'public' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** A key set's keys imported once; lookups never re-parse. */
export class KeySet {
  readonly #entries: { jwk: Record<string, unknown>; key: KeyObject }[] = [];

  constructor(jwks: readonly unknown[]) {
    for (const item of jwks.slice(0, 100)) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
      const jwk = item as Record<string, unknown>;
      const key = publicKeyOf(jwk);
      if (key !== undefined) this.#entries.push({ jwk, key });
    }
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The unique fitting key, or undefined. */
  find(kid: string | undefined, alg: string): KeyObject | undefined {
    const type = keyTypeFor(alg);
    if (type === undefined) return undefined;
    const fits = this.#entries.filter(({ jwk }) => {
      if (kid !== undefined && jwk.kid !== kid) return false;
      if (jwk.use !== undefined && jwk.use !== 'sig') return false;
      if (jwk.alg !== undefined && jwk.alg !== alg) return false;
      if (jwk.kty !== type.kty) return false;
      return type.crv === undefined || jwk.crv === type.crv;
    });
    return fits.length === 1 ? fits[0]?.key : undefined;
  }
}

export function unknownKey(kid: string | undefined): AuthRefusal {
  return new AuthRefusal(
    'AUTH_TOKEN_KEY_UNKNOWN',
    kid === undefined ? 'no kid, and not exactly one key fits' : 'no key of the issuer has this kid',
  );
}

/** `typ` compared as a media type (RFC 7515 §4.1.9): case-insensitive, `application/` optional. */
export function normaliseType(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}
