/** Opens the configured engine and brings its schema up to date. */
import { migrate } from './migrate.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';
import type { Store, StoreOptions } from './store.ts';

export async function openStore(options: StoreOptions): Promise<Store> {
  const store =
    options.engine === 'pglite'
      ? await openPglite(options.dataDir)
      : await openPostgres(options.url, options.schema, options.maxConnections);
  try {
    await migrate(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
