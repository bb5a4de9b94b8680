/**
 * Reads back an access token this authorization server issued, for introspection (RFC 7662) and
 * revocation (RFC 7009): at most 8 KiB, a compact JWS with typ at+jwt and alg ES256 only, signed by our
 * key (by signature, whatever `kid` says), our `iss` and `aud`, a jti, a client_id. Anything else is "not
 * a token of ours" (undefined) — never an exception: these endpoints answer `active: false` / 200 for
 * tokens they do not know (RFC 7662 §2.2, RFC 7009 §2.2).
 *
 * jku/x5u/jwk/x5c headers are ignored (never followed): the only key is ours.
 */
import { jwtVerify } from 'jose';
import type { TokenSigningKey } from './signing-key.ts';

export const MAX_TOKEN_BYTES = 8 * 1024;
const TEN_YEARS_SECONDS = 10 * 365 * 86_400;

export interface OwnTokenClaims {
  jti: string;
  clientId: string;
  sub: string;
  scope: string;
  tenant: string;
  iat: number;
  nbf: number;
  exp: number;
  cnf: Record<string, string>;
}

export async function readOwnToken(
  token: string,
  options: { key: TokenSigningKey; issuer: string; audience: string; now: Date; allowExpired: boolean },
): Promise<OwnTokenClaims | undefined> {
  if (token.length === 0 || token.length > MAX_TOKEN_BYTES) return undefined;
  try {
    const { payload } = await jwtVerify(token, options.key.publicKey, {
      algorithms: ['ES256'],
      typ: 'at+jwt',
      issuer: options.issuer,
      audience: options.audience,
      currentDate: options.now,
      // Revocation reads an expired token too (then changes nothing); introspection answers active:false.
      ...(options.allowExpired ? { clockTolerance: TEN_YEARS_SECONDS } : {}),
      requiredClaims: ['jti', 'exp', 'iat', 'sub'],
    });
    const { jti, client_id, sub, scope, tenant, iat, nbf, exp, cnf } = payload as Record<string, unknown>;
    if (
      typeof jti !== 'string' ||
      typeof client_id !== 'string' ||
      typeof sub !== 'string' ||
      typeof scope !== 'string' ||
      typeof tenant !== 'string' ||
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      typeof cnf !== 'object' ||
      cnf === null
    ) {
      return undefined;
    }
    return {
      jti,
      clientId: client_id,
      sub,
      scope,
      tenant,
      iat,
      nbf: typeof nbf === 'number' ? nbf : iat,
      exp,
      cnf: cnf as Record<string, string>,
    };
  } catch {
    return undefined;
  }
}
