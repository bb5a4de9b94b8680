/**
 * Bootstrap tokens at rest (table enrollment_tokens, migration 004): the format, the hash that is
 * stored instead of the token, the lookup that authorises an EST simpleenroll, and the conditional
 * update that spends a token exactly once.
 *
 * A token is `fgbt_` + 32 random bytes in base64url (256 bits). Only SHA-256(token) is stored: a stolen
 * database yields no usable token, and with 256 bits of entropy a fast hash is enough (there is no
 * password to guess). The lookup is by that hash, so no comparison of secret bytes happens in our code.
 * `token_id` (the first 16 hex digits of the hash) names a token in the CLI output and the audit log.
 */
import { randomBytes } from 'node:crypto';
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { GatewayError } from '../../../errors/gateway-error.ts';
import type { Queryable } from '../../../store/store.ts';

export const TOKEN_PREFIX = 'fgbt_';
const TOKEN_FORMAT = /^fgbt_[A-Za-z0-9_-]{43}$/;

export interface TokenDigest {
  readonly sha256: string;
  readonly tokenId: string;
}

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The stored digest of a well-formed token; EST_TOKEN_INVALID for anything else. */
export function digestToken(token: string): TokenDigest {
  if (!TOKEN_FORMAT.test(token)) throw new GatewayError('EST_TOKEN_INVALID');
  const hash = toHex(sha256(utf8(token)));
  return { sha256: hash, tokenId: hash.slice(0, 16) };
}

export interface StoredToken extends TokenDigest {
  readonly vehicleId: string;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  /** The certificate the token authorised, once spent by an issuance. */
  readonly usedSerial: string | null;
}

/** The stored token for a presented one; EST_TOKEN_INVALID if malformed or unknown. */
export async function lookupToken(q: Queryable, token: string): Promise<StoredToken> {
  const digest = digestToken(token);
  const [row] = await q.query<{
    vehicle_id: string;
    expires_at: Date;
    used_at: Date | null;
    used_serial: string | null;
  }>('SELECT vehicle_id, expires_at, used_at, used_serial FROM enrollment_tokens WHERE token_sha256 = $1', [
    digest.sha256,
  ]);
  if (row === undefined) throw new GatewayError('EST_TOKEN_INVALID');
  return {
    ...digest,
    vehicleId: row.vehicle_id,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    usedSerial: row.used_serial,
  };
}

/** EST_TOKEN_USED / EST_TOKEN_EXPIRED unless the token may authorise an issuance at `now`. */
export function assertTokenUsable(token: StoredToken, now: Date): void {
  if (token.usedAt !== null) throw new GatewayError('EST_TOKEN_USED');
  if (token.expiresAt.getTime() <= now.getTime()) throw new GatewayError('EST_TOKEN_EXPIRED');
}

/**
 * Spends the token inside the issuing transaction. The update is conditional, so of two concurrent
 * requests with one token only one commits a certificate; the other gets EST_TOKEN_USED.
 */
export async function spendToken(
  tx: Queryable,
  digest: TokenDigest,
  serial: string,
  now: Date,
): Promise<void> {
  const rows = await tx.query(
    `UPDATE enrollment_tokens SET used_at = $2, used_serial = $3
     WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2 RETURNING token_id`,
    [digest.sha256, now, serial],
  );
  if (rows.length !== 1) throw new GatewayError('EST_TOKEN_USED');
}
