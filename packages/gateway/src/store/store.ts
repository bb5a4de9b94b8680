/**
 * The store: one SQL dialect (PostgreSQL) on two engines — PGlite embedded in the data directory (the
 * default, nothing to install) and PostgreSQL through `DATABASE_URL` (the production recommendation).
 *
 * Both engines return int8 columns as decimal strings (never a lossy JS number: ids, counters and
 * timestamps above 2^53 must survive), and bytea as Uint8Array.
 */

export type SqlValue = string | number | bigint | boolean | Date | Uint8Array | null | readonly string[];
export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

export interface Store extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction; rolls back on any throw. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export type StoreOptions =
  | { engine: 'pglite'; dataDir: string | undefined }
  | { engine: 'postgres'; url: string; schema?: string; maxConnections?: number };

/** int8 / numeric as returned by either engine → bigint. */
export function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new TypeError('not an integer column value');
}

/** int8 known to fit in a double (counts, indices below 2^53) → number. */
export function toSafeNumber(value: unknown): number {
  const n = toBigInt(value);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError('integer column value exceeds 2^53');
  }
  return Number(n);
}
