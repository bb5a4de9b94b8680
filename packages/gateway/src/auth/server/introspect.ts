/**
 * Token introspection (RFC 7662) for authenticated clients only, and a client only learns about its own
 * tokens: a token of another client, one we did not issue, an expired, revoked or unknown jti, or a token
 * of a suspended client is `{ "active": false }` — indistinguishable on purpose (§2.2, §4 "token
 * scanning"). An active answer carries the claims a resource server needs (§2.2 plus RFC 8705 §3.2 and
 * RFC 9449 §6.2 `cnf`, and `tenant`).
 */
import type { Queryable } from '../../store/store.ts';
import type { OAuthClient } from './client-registry.ts';
import { readOwnToken } from './own-token.ts';
import type { TokenSigningKey } from './signing-key.ts';

export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      aud: string;
      iss: string;
      exp: number;
      iat: number;
      nbf: number;
      jti: string;
      token_type: 'Bearer' | 'DPoP';
      tenant: string;
      cnf: Record<string, string>;
    };

export interface IntrospectDeps {
  store: Queryable;
  key: TokenSigningKey;
  issuer: string;
  audience: string;
  now: () => Date;
}

export async function introspectToken(
  deps: IntrospectDeps,
  caller: OAuthClient,
  token: string,
): Promise<IntrospectionResponse> {
  const now = deps.now();
  const claims = await readOwnToken(token, { ...deps, now, allowExpired: false });
  if (claims === undefined || claims.clientId !== caller.clientId) return { active: false };
  const [row] = await deps.store.query<{ revoked_at: Date | null; status: string; expires_at: Date }>(
    `SELECT t.revoked_at, t.expires_at, c.status FROM oauth_tokens t
       JOIN oauth_clients c ON c.client_id = t.client_id
      WHERE t.jti = $1 AND t.client_id = $2`,
    [claims.jti, caller.clientId],
  );
  if (row === undefined || row.revoked_at !== null || row.status !== 'active' || row.expires_at <= now) {
    return { active: false };
  }
  return {
    active: true,
    scope: claims.scope,
    client_id: claims.clientId,
    sub: claims.sub,
    aud: deps.audience,
    iss: deps.issuer,
    exp: claims.exp,
    iat: claims.iat,
    nbf: claims.nbf,
    jti: claims.jti,
    token_type: 'jkt' in claims.cnf ? 'DPoP' : 'Bearer',
    tenant: claims.tenant,
    cnf: claims.cnf,
  };
}
