/**
 * Creates a one-time bootstrap token for EST enrollment (RFC 7030 §3.2.3 leaves the HTTP-layer
 * credential to the deployment; ours is `Authorization: Bearer <token>`), bound to one vehicle id and
 * valid until an expiry. Used by `fleetgate device enroll <vehicle-id> --token` and by forced rotation
 * after a key compromise (pki/rotation/force.ts).
 *
 * The token is returned once and never stored or logged: the store keeps its SHA-256 (see
 * internal/token-store.ts). Creating a token withdraws the vehicle's earlier unspent tokens, so at most
 * one live token exists per vehicle and a leaked older one is worthless. Token creation is audited
 * ('pki.enrollment.token-created', with the token id, never the token) in the same transaction.
 *
 * Threat: a bootstrap token is a bearer credential delivered out of band; a short lifetime (default
 * `enrollment.tokenTtlSeconds`, 24 h), single use and binding to one vehicle id limit what a stolen
 * one can do: enroll that vehicle once, before the legitimate vehicle does.
 */

import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import type { Queryable, Store } from '../../store/store.ts';
import { PkiError } from '../errors.ts';
import { assertValidFleetgateId } from '../identity.ts';
import { digestToken, newToken } from './internal/token-store.ts';

export interface CreatedBootstrapToken {
  /** The secret: show it once, deliver it out of band. */
  readonly token: string;
  /** Public handle of the token (audit log, CLI). */
  readonly tokenId: string;
  readonly vehicleId: string;
  readonly expiresAt: Date;
}

export interface CreateTokenInput {
  readonly vehicleId: string;
  readonly ttlSeconds: number;
  readonly actor: AuditActor;
  /** Registers the vehicle under this tenant (for `device rotate --tenant`); unchanged when absent. */
  readonly tenant?: string;
  /** Why the token exists, for the audit entry: a first enrollment or a forced re-enrollment. */
  readonly purpose?: 'enroll' | 're-enroll';
}

export interface TokenDeps {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly now: () => Date;
}

/** At most 30 days: a bootstrap token is for a device about to be provisioned, not a standing secret. */
export const MAX_TOKEN_TTL_SECONDS = 30 * 86_400;

export async function createBootstrapToken(
  deps: TokenDeps,
  input: CreateTokenInput,
): Promise<CreatedBootstrapToken> {
  return deps.store.transaction((tx) => createBootstrapTokenInTx(tx, deps, input));
}

/** The same, inside a caller's transaction (forced rotation creates tokens with its other writes). */
export async function createBootstrapTokenInTx(
  tx: Queryable,
  deps: Pick<TokenDeps, 'audit' | 'now'>,
  input: CreateTokenInput,
): Promise<CreatedBootstrapToken> {
  assertValidFleetgateId(input.vehicleId, 'vehicle');
  if (input.tenant !== undefined) assertValidFleetgateId(input.tenant, 'tenant');
  if (
    !Number.isSafeInteger(input.ttlSeconds) ||
    input.ttlSeconds < 1 ||
    input.ttlSeconds > MAX_TOKEN_TTL_SECONDS
  ) {
    throw new PkiError(
      'PKI_INVALID_ARGUMENT',
      `token lifetime must be 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`,
    );
  }
  const now = deps.now();
  const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000);
  const token = newToken();
  const digest = digestToken(token);
  const withdrawn = await tx.query(
    'UPDATE enrollment_tokens SET used_at = $2 WHERE vehicle_id = $1 AND used_at IS NULL RETURNING token_id',
    [input.vehicleId, now],
  );
  await tx.query(
    `INSERT INTO enrollment_tokens (token_sha256, token_id, vehicle_id, created_by, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [digest.sha256, digest.tokenId, input.vehicleId, `${input.actor.kind}:${input.actor.id}`, now, expiresAt],
  );
  if (input.tenant !== undefined) {
    await tx.query(
      `INSERT INTO vehicle_registrations (vehicle_id, tenant, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (vehicle_id) DO UPDATE SET tenant = excluded.tenant, updated_at = excluded.updated_at`,
      [input.vehicleId, input.tenant, now],
    );
  }
  await deps.audit.appendInTx(tx, {
    class: 'pki.enrollment.token-created',
    actor: input.actor,
    subject: { kind: 'vehicle', id: input.vehicleId },
    outcome: 'recorded',
    details: {
      tokenId: digest.tokenId,
      expiresAt: expiresAt.toISOString(),
      purpose: input.purpose ?? 'enroll',
      withdrawnTokens: withdrawn.length,
      ...(input.tenant === undefined ? {} : { tenant: input.tenant }),
    },
  });
  return { token, tokenId: digest.tokenId, vehicleId: input.vehicleId, expiresAt };
}
