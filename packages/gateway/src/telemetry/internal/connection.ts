/**
 * Where group commit writes: a transaction that can also bulk-write telemetry_records.
 *
 *  - PostgreSQL: the ingest writer's own small pg pool on the same database and schema as the store
 *    (same type parsers: int8 and numeric stay strings), because COPY … FROM STDIN (pg-copy-streams)
 *    needs the raw pg client, which the Store interface does not expose. COPY is the fastest bulk path
 *    there (measured: about 1.5× a multi-row INSERT … SELECT FROM unnest at 4,000 rows a transaction).
 *  - PGlite (and any Store without a URL): the store's own transactions and one INSERT … SELECT FROM
 *    unnest(…) per group — on PGlite that is within a quarter of its COPY, which needs the PGlite handle
 *    the Store keeps to itself (docs/telemetry.md "Group commit").
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Queryable, Row, SqlValue, Store } from '../../store/store.ts';
import {
  COPY_RECORDS_SQL,
  type RecordsToWrite,
  recordsCopyText,
  recordsUnnestParams,
  UNNEST_RECORDS_SQL,
} from './record-rows.ts';

export interface IngestTx extends Queryable {
  /** Writes every record of `groups` into telemetry_records. */
  insertRecords(groups: readonly RecordsToWrite[]): Promise<void>;
}

export interface IngestConnection {
  readonly engine: 'pglite' | 'postgres';
  /** 'copy' or 'unnest': how records are written (reported by the benchmark). */
  readonly recordWrites: 'copy' | 'unnest';
  /** Group transactions that may run at once (one per connection). */
  readonly writers: number;
  transaction<T>(fn: (tx: IngestTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Group commit over the store's own transactions; records by INSERT … SELECT FROM unnest. */
export function storeConnection(store: Store): IngestConnection {
  return {
    engine: store.engine,
    recordWrites: 'unnest',
    writers: 1,
    transaction: (fn) =>
      store.transaction((tx) =>
        fn({
          query: (sql, params) => tx.query(sql, params),
          insertRecords: async (groups) => {
            if (groups.length > 0) await tx.query(UNNEST_RECORDS_SQL, recordsUnnestParams(groups));
          },
        }),
      ),
    close: async () => {},
  };
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Group commit on its own PostgreSQL connections (same database and schema as the store), records by COPY. */
export function postgresCopyConnection(url: string, schema?: string, connections = 2): IngestConnection {
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error('invalid schema name');
  const pool = new pg.Pool({
    connectionString: url,
    max: connections,
    types: {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID
          ? (value: string) => value
          : pg.types.getTypeParser(oid, format ?? 'text'),
    },
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client that errors (server restart) must not crash the process; the next group reconnects.
  pool.on('error', () => {});
  return {
    engine: 'postgres',
    recordWrites: 'copy',
    writers: connections,
    transaction: async <T>(fn: (tx: IngestTx) => Promise<T>): Promise<T> => {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: async <R extends Row>(sql: string, params: readonly SqlValue[] = []) =>
            (await client.query<R>(sql, params as unknown[])).rows,
          insertRecords: async (groups) => {
            if (groups.length === 0) return;
            await pipeline(
              Readable.from([Buffer.from(recordsCopyText(groups))]),
              client.query(copyFrom(COPY_RECORDS_SQL)),
            );
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
