/**
 * PGlite engine: real PostgreSQL compiled to WASM, in the data directory. Single connection; PGlite
 * serialises queries and transactions itself. Durability: PGlite runs without fsync on the request
 * thread, so the embedded mode survives a process crash but not a power loss (docs/operations.md).
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Queryable, Row, SqlValue, Store } from './store.ts';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export async function openPglite(dataDir: string | undefined): Promise<Store> {
  // The store holds every record and the audit log: owner-only, like the keys beside it.
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const identity = (value: string): string => value;
  const db = new PGlite(dataDir, { parsers: { [INT8_OID]: identity, [NUMERIC_OID]: identity } });
  await db.waitReady;
  const query = async <T extends Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> =>
    (await db.query<T>(sql, params as unknown[])).rows;
  return {
    engine: 'pglite',
    query,
    exec: async (sql) => {
      await db.exec(sql);
    },
    transaction: <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> =>
      db.transaction(async (tx) =>
        fn({
          query: async <R extends Row>(sql: string, params: readonly SqlValue[] = []) =>
            (await tx.query<R>(sql, params as unknown[])).rows,
        }),
      ),
    close: async () => {
      await db.close();
    },
  };
}
