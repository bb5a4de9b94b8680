/**
 * Token revocation (RFC 7009) for authenticated clients only. A client revokes only its own tokens: a
 * token we did not issue, one of another client, an unknown or already revoked jti all answer 200 with
 * nothing changed (§2.2: "invalid tokens do not cause an error"), so the endpoint tells a thief nothing.
 * A revocation sets oauth_tokens.revoked_at and sequences `auth.token.revoked` in one transaction;
 * resource servers on every node refuse the jti within a second.
 */
import type { AuditLog } from '../../audit/log.ts';
import type { Store } from '../../store/store.ts';
import type { OAuthClient } from './client-registry.ts';
import { readOwnToken } from './own-token.ts';
import type { TokenSigningKey } from './signing-key.ts';

export interface RevokeDeps {
  store: Store;
  audit: AuditLog;
  key: TokenSigningKey;
  issuer: string;
  audience: string;
  now: () => Date;
}

/** True when this call revoked a live token. */
export async function revokeToken(
  deps: RevokeDeps,
  caller: OAuthClient,
  token: string,
  certSha256: string | undefined,
): Promise<boolean> {
  const now = deps.now();
  const claims = await readOwnToken(token, { ...deps, now, allowExpired: true });
  if (claims === undefined || claims.clientId !== caller.clientId) return false;
  return deps.store.transaction(async (tx) => {
    const rows = await tx.query(
      `UPDATE oauth_tokens SET revoked_at = $3
        WHERE jti = $1 AND client_id = $2 AND revoked_at IS NULL AND expires_at > $3 RETURNING jti`,
      [claims.jti, caller.clientId, now],
    );
    if (rows.length === 0) return false;
    await deps.audit.appendInTx(tx, {
      class: 'auth.token.revoked',
      actor: { kind: 'partner', id: caller.clientId, ...(certSha256 === undefined ? {} : { certSha256 }) },
      subject: { kind: 'access-token', id: claims.jti },
      outcome: 'recorded',
      reasons: ['CLIENT_REQUEST'],
    });
    return true;
  });
}
