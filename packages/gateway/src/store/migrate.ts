/**
 * Forward-only SQL migrations, the same files on both engines. Each runs in its own transaction with
 * its version recorded; on PostgreSQL a transaction-scoped advisory lock keeps two gateway nodes from
 * migrating at once. A database newer than this code is refused rather than used.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Store, toSafeNumber } from './store.ts';

const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');
const MIGRATION_LOCK_KEY = 0x666c6774; // 'flgt'

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 3)),
      name: file.slice(4, -4),
      sql: readFileSync(join(MIGRATIONS_DIR, file), 'utf8'),
    }));
}

export async function migrate(store: Store): Promise<number> {
  await store.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const migrations = loadMigrations();
  const latest = migrations.at(-1)?.version ?? 0;
  let applied = 0;
  for (const m of migrations) {
    const done = await store.transaction(async (tx) => {
      if (store.engine === 'postgres')
        await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const rows = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (rows.length > 0) return false;
      // Statements split on a line holding only ';' would be fragile; the files use one statement per
      // ';'-terminated block and no function bodies, so a split on ';\n' is exact for them.
      for (const statement of m.sql.split(/;\s*\n/)) {
        if (statement.trim() !== '') await tx.query(statement);
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (done) applied += 1;
  }
  const [row] = await store.query<{ v: string | null }>(
    'SELECT max(version)::int8 AS v FROM schema_migrations',
  );
  const current = row?.v == null ? 0 : toSafeNumber(row.v);
  if (current > latest)
    throw new Error(`database schema version ${current} is newer than this gateway (${latest})`);
  return applied;
}
