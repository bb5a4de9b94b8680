/**
 * Tenant isolation by PostgreSQL row-level security (issue 6 §7; migration 008; docs/tendering.md
 * "Tenant isolation"). `withTenant(store, tenant, fn)` runs `fn` in one transaction whose tenant tables
 * show and accept only `tenant`'s rows: `app.tenant` is set transaction-locally (set_config(…, true), the
 * function form of SET LOCAL, so it takes a bound parameter and never leaks to the next transaction on a
 * pooled connection). `withOperator(store, fn)` is the fleet operator's cross-tenant scope (review queue,
 * fleet events), set the same way.
 *
 * Superusers and BYPASSRLS roles skip every policy, FORCE or not — and both the embedded PGlite and a
 * development PostgreSQL connect as one. So when the store's role bypasses RLS, each scoped transaction
 * also switches (transaction-locally) to the unprivileged role `fleetgate_app`, created once with DML
 * rights on the schema's tables; a production deployment connecting as a plain owner role gets the same
 * policies through FORCE ROW LEVEL SECURITY without the switch.
 *
 * Threat: BOLA (OWASP API1) — a query that forgets its tenant filter. With the policies, a missing
 * filter returns nothing rather than another partner's freight.
 */
import type { Queryable, Store } from '../store/store.ts';

export const APP_ROLE = 'fleetgate_app';
const ROLE_LOCK_KEY = 0x666c7273; // 'flrs'

/** Whether each scoped transaction must switch role (the store's role bypasses RLS), per store. */
const switchRole = new WeakMap<Store, Promise<boolean>>();

async function prepare(store: Store): Promise<boolean> {
  const [me] = await store.query<{ bypass: boolean; schema: string }>(
    `SELECT (r.rolsuper OR r.rolbypassrls) AS bypass, current_schema() AS schema
     FROM pg_roles r WHERE r.rolname = current_user`,
  );
  if (me === undefined || !me.bypass) return false;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(me.schema)) throw new Error('unexpected schema name');
  // One node at a time creates the role and grants (catalog rows are not safe to update concurrently).
  await store.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [ROLE_LOCK_KEY]);
    const [exists] = await tx.query('SELECT 1 AS one FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    if (exists === undefined) await tx.query(`CREATE ROLE ${APP_ROLE} NOLOGIN NOINHERIT`);
    await tx.query(`GRANT USAGE ON SCHEMA ${me.schema} TO ${APP_ROLE}`);
    await tx.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${me.schema} TO ${APP_ROLE}`,
    );
    await tx.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${me.schema} TO ${APP_ROLE}`);
  });
  return true;
}

function needsSwitch(store: Store): Promise<boolean> {
  let pending = switchRole.get(store);
  if (pending === undefined) {
    pending = prepare(store);
    // A failed preparation is retried by the next request rather than cached.
    pending.catch(() => switchRole.delete(store));
    switchRole.set(store, pending);
  }
  return pending;
}

async function scoped<T>(
  store: Store,
  setting: 'app.tenant' | 'app.operator',
  value: string,
  fn: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const role = await needsSwitch(store);
  return store.transaction(async (tx) => {
    // One round trip: the role (when needed) and the scope setting, both transaction-local.
    await tx.query(
      role
        ? `SELECT set_config('role', '${APP_ROLE}', true), set_config($1, $2, true)`
        : 'SELECT set_config($1, $2, true)',
      [setting, value],
    );
    return fn(tx);
  });
}

/** Runs `fn` in a transaction that sees and writes only `tenant`'s rows of the tenant tables. */
export function withTenant<T>(store: Store, tenant: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  if (tenant === '') throw new Error('empty tenant');
  return scoped(store, 'app.tenant', tenant, fn);
}

/** Runs `fn` in a transaction with the fleet operator's cross-tenant view (admin routes only). */
export function withOperator<T>(store: Store, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return scoped(store, 'app.operator', 'on', fn);
}

/** Runs `fn` under the application role with neither setting: tenant tables show nothing (tests, audits). */
export function withoutScope<T>(store: Store, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return needsSwitch(store).then((role) =>
    store.transaction(async (tx) => {
      if (role) await tx.query(`SELECT set_config('role', '${APP_ROLE}', true)`);
      return fn(tx);
    }),
  );
}
