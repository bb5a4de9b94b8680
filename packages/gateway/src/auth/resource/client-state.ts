/**
 * What the store says about a client and a token right now: the client's registration (tenant, status,
 * scopes, policy — table oauth_clients) and a token's revocation (table oauth_tokens), both written by the
 * authorization server (migration 005). Suspending a client or revoking a token must take effect on every
 * gateway node "at once": answers are cached for at most `ttlMs` (1 s), on a monotonic clock, so the
 * store sees at most one query per client and per token a second however many requests arrive.
 *
 * The cache is bounded (MAX_ENTRIES); when full it is emptied rather than grown — a flood of distinct
 * ids then costs queries, never memory.
 */
import type { Queryable } from '../../store/store.ts';

export interface ClientRecord {
  clientId: string;
  tenant: string;
  status: 'active' | 'suspended';
  scopes: readonly string[];
  /** The policy column as stored (JSON text); parsed by auth/policy/policy.ts. */
  policy: string;
}

/** 'unknown': no record — fleetgate's issuer never issued this jti (or it was purged after expiry). */
export type TokenRecordState = 'active' | 'revoked' | 'unknown';

const MAX_ENTRIES = 10_000;

class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();
  readonly #ttlMs: number;
  readonly #clock: () => number;

  constructor(ttlMs: number, clock: () => number) {
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.#clock();
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.until > now) return hit.value;
    const value = await load();
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(key, { value, until: now + this.#ttlMs });
    return value;
  }
}

export class ClientStateCache {
  readonly #store: Queryable;
  readonly #clients: TtlCache<ClientRecord | undefined>;
  readonly #tokens: TtlCache<TokenRecordState>;

  constructor(store: Queryable, options: { ttlMs?: number; clock?: () => number } = {}) {
    this.#store = store;
    const ttl = Math.min(options.ttlMs ?? 1000, 1000);
    const clock = options.clock ?? (() => performance.now());
    this.#clients = new TtlCache(ttl, clock);
    this.#tokens = new TtlCache(ttl, clock);
  }

  client(clientId: string): Promise<ClientRecord | undefined> {
    return this.#clients.get(clientId, async () => {
      const [row] = await this.#store.query<{
        client_id: string;
        tenant_id: string;
        status: string;
        scopes: string[];
        policy: string;
      }>('SELECT client_id, tenant_id, status, scopes, policy FROM oauth_clients WHERE client_id = $1', [
        clientId,
      ]);
      if (row === undefined) return undefined;
      return {
        clientId: row.client_id,
        tenant: row.tenant_id,
        status: row.status === 'active' ? 'active' : 'suspended',
        scopes: row.scopes,
        policy: row.policy,
      };
    });
  }

  token(jti: string): Promise<TokenRecordState> {
    return this.#tokens.get(jti, async () => {
      const [row] = await this.#store.query<{ revoked_at: Date | null }>(
        'SELECT revoked_at FROM oauth_tokens WHERE jti = $1',
        [jti],
      );
      if (row === undefined) return 'unknown';
      return row.revoked_at === null ? 'active' : 'revoked';
    });
  }
}
