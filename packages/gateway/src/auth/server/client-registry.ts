/**
 * The OAuth client registry (table `oauth_clients`, migration 005): TMS partners as OAuth 2.0 clients
 * (RFC 6749 §2), each bound to one tenant, one client authentication method (RFC 8705 §2.1 tls_client_auth,
 * §2.2 self_signed_tls_client_auth, RFC 7523 private_key_jwt), a set of scopes, a token lifetime and a
 * policy (lanes, equipment, time windows; enforced by auth/policy/).
 *
 * Rows are read on every token request (no cache: a suspension takes effect at the next request) and
 * parsed defensively: a row that does not match its shape (a hand-edited JWKS, say) makes that client
 * unusable (fail closed), never the process.
 */
import type { Queryable } from '../../store/store.ts';

export const CLIENT_AUTH_METHODS = [
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'private_key_jwt',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** The scopes fleetgate's APIs know (issue 4); nothing else is ever granted. */
export const SCOPES = ['tenders:write', 'tenders:read', 'tracking:read', 'commands:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The scopes a partner seeded from the configuration file gets. */
export const DEFAULT_PARTNER_SCOPES: readonly Scope[] = ['tenders:write', 'tenders:read', 'tracking:read'];
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;

/** A public JWK as registered (RFC 7517 §4); members beyond these are kept but not relied upon. */
export interface RegisteredJwk {
  kty: string;
  kid?: string;
  alg?: string;
  x5c?: string[];
  [member: string]: unknown;
}

export interface OAuthClient {
  clientId: string;
  tenantId: string;
  status: 'active' | 'suspended';
  authMethod: ClientAuthMethod;
  /** tls_client_auth: the SAN URI; self_signed_tls_client_auth: base64url SHA-256 of the certificate. */
  tlsClientAuthSanUri: string | null;
  jwks: { keys: RegisteredJwk[] } | null;
  scopes: Scope[];
  tokenLifetimeSeconds: number;
  /** The policy document as stored (JSON text); auth/policy/ parses it. */
  policy: string;
  createdAt: Date;
  updatedAt: Date;
  suspendedAt: Date | null;
}

interface ClientRow {
  client_id: string;
  tenant_id: string;
  status: string;
  auth_method: string;
  tls_client_auth_san_uri: string | null;
  jwks: string | null;
  scopes: string[];
  token_lifetime_seconds: number;
  policy: string;
  created_at: Date;
  updated_at: Date;
  suspended_at: Date | null;
  [key: string]: unknown;
}

const COLUMNS =
  'client_id, tenant_id, status, auth_method, tls_client_auth_san_uri, jwks, scopes, token_lifetime_seconds, policy, created_at, updated_at, suspended_at';

/** The stored JWKS, or null when absent or not a JWKS of objects with a string kty (fail closed). */
export function parseStoredJwks(text: string | null): { keys: RegisteredJwk[] } | null {
  if (text === null || text.length > 64 * 1024) return null;
  try {
    const doc: unknown = JSON.parse(text);
    if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys))
      return null;
    const keys = (doc as { keys: unknown[] }).keys;
    if (
      !keys.every((k) => typeof k === 'object' && k !== null && typeof (k as RegisteredJwk).kty === 'string')
    )
      return null;
    return { keys: keys as RegisteredJwk[] };
  } catch {
    return null;
  }
}

function toClient(row: ClientRow): OAuthClient | undefined {
  const method = CLIENT_AUTH_METHODS.find((m) => m === row.auth_method);
  if (method === undefined || (row.status !== 'active' && row.status !== 'suspended')) return undefined;
  const scopes = row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
  return {
    clientId: row.client_id,
    tenantId: row.tenant_id,
    status: row.status,
    authMethod: method,
    tlsClientAuthSanUri: row.tls_client_auth_san_uri,
    jwks: parseStoredJwks(row.jwks),
    scopes,
    tokenLifetimeSeconds: Number(row.token_lifetime_seconds),
    policy: row.policy,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    suspendedAt: row.suspended_at,
  };
}

/** The client, or undefined when unknown (or its row is unusable). */
export async function findClient(q: Queryable, clientId: string): Promise<OAuthClient | undefined> {
  const [row] = await q.query<ClientRow>(`SELECT ${COLUMNS} FROM oauth_clients WHERE client_id = $1`, [
    clientId,
  ]);
  return row === undefined ? undefined : toClient(row);
}

export async function listClients(q: Queryable): Promise<OAuthClient[]> {
  const rows = await q.query<ClientRow>(`SELECT ${COLUMNS} FROM oauth_clients ORDER BY client_id`);
  return rows.map(toClient).filter((c): c is OAuthClient => c !== undefined);
}

/** What registration writes; validated by register-client.ts before it gets here. */
export interface ClientRecord {
  clientId: string;
  tenantId: string;
  authMethod: ClientAuthMethod;
  tlsClientAuthSanUri: string | null;
  jwks: { keys: RegisteredJwk[] } | null;
  scopes: readonly Scope[];
  tokenLifetimeSeconds: number;
  policy: string;
}

/** Inserts a client; false when the id is already registered (nothing changed). */
export async function insertClient(q: Queryable, record: ClientRecord, now: Date): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO oauth_clients (client_id, tenant_id, status, auth_method, tls_client_auth_san_uri, jwks, scopes,
       token_lifetime_seconds, policy, created_at, updated_at)
     VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $8, $9, $9)
     ON CONFLICT (client_id) DO NOTHING RETURNING client_id`,
    [
      record.clientId,
      record.tenantId,
      record.authMethod,
      record.tlsClientAuthSanUri,
      record.jwks === null ? null : JSON.stringify(record.jwks),
      [...record.scopes],
      record.tokenLifetimeSeconds,
      record.policy,
      now,
    ],
  );
  return rows.length === 1;
}
