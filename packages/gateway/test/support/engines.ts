/**
 * The store engines a test runs on: PGlite always; PostgreSQL too when DATABASE_URL is set (.ci/run
 * sets it). Without it the PostgreSQL variants are reported as skipped, visibly, once per file.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';

export interface EngineCase {
  name: 'pglite' | 'postgres';
  url?: string;
}

export function engines(): EngineCase[] {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    console.warn('[skip] PostgreSQL variants: DATABASE_URL is not set (PGlite variants still run)');
    return [{ name: 'pglite' }];
  }
  return [{ name: 'pglite' }, { name: 'postgres', url }];
}

/** A fresh schema name so parallel test files never share tables in the one test database. */
export function uniqueSchema(): string {
  return `fg_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!/^fg_test_[0-9a-f]{12}$/.test(schema))
    throw new Error('refusing to drop a schema this suite did not create');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A fresh store on `engine`: in-memory PGlite, or a schema of its own (returned) on PostgreSQL. */
export async function openTestStore(
  engine: EngineCase,
): Promise<{ store: Store; schema: string | undefined }> {
  const schema = engine.name === 'postgres' ? uniqueSchema() : undefined;
  const store = await openStore(
    engine.name === 'postgres' && engine.url
      ? { engine: 'postgres', url: engine.url, ...(schema ? { schema } : {}) }
      : { engine: 'pglite', dataDir: undefined },
  );
  return { store, schema };
}

/** Closes a store from openTestStore and drops its PostgreSQL schema. */
export async function closeTestStore(
  engine: EngineCase,
  store: Store,
  schema: string | undefined,
): Promise<void> {
  await store.close();
  if (schema && engine.url) await dropSchema(engine.url, schema);
}
