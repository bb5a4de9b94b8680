/**
 * Suspends a client (`fleetgate partner suspend`): in one transaction the client's status becomes
 * 'suspended' and every live token it holds is revoked (oauth_tokens.revoked_at), and
 * `auth.client.suspended` is sequenced with the number of tokens revoked. From then on the token
 * endpoint refuses the client (unauthorized_client) and resource servers on every node refuse its tokens
 * within a second (they read client status and jti revocation from the store, cached at most 1 s) —
 * "at once", without waiting for the tokens to expire.
 */
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import type { Store } from '../../store/store.ts';
import { AuthServerError } from './errors.ts';

export interface SuspendResult {
  alreadySuspended: boolean;
  revokedTokens: number;
}

export async function suspendClient(
  deps: { store: Store; audit: AuditLog; now: () => Date },
  clientId: string,
  actor: AuditActor,
  reason = 'OPERATOR_REQUEST',
): Promise<SuspendResult> {
  const now = deps.now();
  return deps.store.transaction(async (tx) => {
    const [row] = await tx.query<{ status: string }>(
      'SELECT status FROM oauth_clients WHERE client_id = $1 FOR UPDATE',
      [clientId],
    );
    if (row === undefined) throw new AuthServerError('AS_CLIENT_NOT_FOUND', `no client ${clientId}`);
    const alreadySuspended = row.status === 'suspended';
    if (!alreadySuspended) {
      await tx.query(
        `UPDATE oauth_clients SET status = 'suspended', suspended_at = $2, updated_at = $2 WHERE client_id = $1`,
        [clientId, now],
      );
    }
    const revoked = await tx.query(
      `UPDATE oauth_tokens SET revoked_at = $2
        WHERE client_id = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING jti`,
      [clientId, now],
    );
    await deps.audit.appendInTx(tx, {
      class: 'auth.client.suspended',
      actor,
      subject: { kind: 'oauth-client', id: clientId },
      outcome: 'recorded',
      reasons: [reason],
      details: { revokedTokens: revoked.length, alreadySuspended },
    });
    return { alreadySuspended, revokedTokens: revoked.length };
  });
}
