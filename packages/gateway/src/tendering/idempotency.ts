/**
 * Idempotency keys for tender creation (draft-ietf-httpapi-idempotency-key-header §2): a client may send
 * `Idempotency-Key` with POST /v1/tenders; the first request's response is stored with the SHA-256 of its
 * canonical request, per client, until `tenderEngine.idempotencyTtlSeconds` pass. The same key with the
 * same request replays that response (`Idempotent-Replayed: true`); with a different request it is
 * refused (422 TENDER_IDEMPOTENCY_KEY_REUSED, audited). Keys live in a tenant table (row-level security),
 * and are looked up inside the creation transaction, after its lock, so two concurrent retries cannot
 * both create.
 *
 * Threat: a retried request (network failure, impatient client) tendering the same load twice; a key
 * reused to read another request's response.
 */
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { type AuditValue, canonicalJson } from '../audit/canonical-json.ts';
import type { Queryable } from '../store/store.ts';

/** The header's value: 1–255 visible ASCII characters (a UUID is the usual choice). */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7E]{1,255}$';

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type IdempotencyLookup =
  | { kind: 'absent' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'conflict' };

/** Hex SHA-256 of the canonical JSON of a request body (key order and spacing do not matter). */
export function requestDigest(body: unknown): string {
  return toHex(sha256(utf8(canonicalJson(body as AuditValue))));
}

export async function lookupIdempotencyKey(
  tx: Queryable,
  clientId: string,
  key: string,
  digest: string,
  now: Date,
): Promise<IdempotencyLookup> {
  const [row] = await tx.query<{ request_sha256: string; response_status: number; response_body: string }>(
    `SELECT request_sha256, response_status, response_body FROM idempotency_keys
     WHERE client_id = $1 AND idem_key = $2 AND expires_at > $3`,
    [clientId, key, now],
  );
  if (row === undefined) return { kind: 'absent' };
  if (row.request_sha256 !== digest) return { kind: 'conflict' };
  return { kind: 'replay', response: { status: row.response_status, body: JSON.parse(row.response_body) } };
}

export async function saveIdempotencyKey(
  tx: Queryable,
  record: {
    clientId: string;
    tenant: string;
    key: string;
    digest: string;
    response: StoredResponse;
    tenderId: string;
    now: Date;
    ttlSeconds: number;
  },
): Promise<void> {
  // Expired keys of this tenant go first (row-level security confines the purge to the tenant).
  await tx.query('DELETE FROM idempotency_keys WHERE expires_at <= $1', [record.now]);
  await tx.query(
    `INSERT INTO idempotency_keys (client_id, idem_key, tenant_id, request_sha256, response_status, response_body,
       tender_id, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      record.clientId,
      record.key,
      record.tenant,
      record.digest,
      record.response.status,
      JSON.stringify(record.response.body),
      record.tenderId,
      record.now,
      new Date(record.now.getTime() + record.ttlSeconds * 1000),
    ],
  );
}
