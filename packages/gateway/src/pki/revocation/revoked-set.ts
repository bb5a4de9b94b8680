/**
 * The in-memory set of revoked serial numbers every listener checks, kept in step with the store.
 *
 * The gateway polls it at least every second (config `revocation.refreshIntervalMs`), so a revocation
 * committed by another gateway node or by `fleetgate device revoke` in another process is enforced
 * within seconds; revocations made in this process are added at once (signal.ts). A poll costs one
 * indexed count; the serials are re-read only when the count changed. Revocation is final (reasons.ts),
 * so the set only grows, and a changed count always means new serials.
 *
 * Threat: a revoked certificate used on a connection or a request after its revocation — the set is
 * consulted at every TLS handshake and every request; a store outage keeps the last known set (never
 * forgets a revocation) and is reported by refresh() throwing, for the caller to log.
 */
import { type Queryable, toSafeNumber } from '../../store/store.ts';
import { normaliseSerial } from '../inventory.ts';

export class RevokedSerials {
  readonly #store: Queryable;
  readonly #serials = new Set<string>();
  #count = -1;

  constructor(store: Queryable) {
    this.#store = store;
  }

  get size(): number {
    return this.#serials.size;
  }

  has(serialNumber: string): boolean {
    return this.#serials.has(normaliseSerial(serialNumber));
  }

  /** Adds a serial known to be revoked (committed in this process); true if it was new. */
  add(serialNumber: string): boolean {
    const serial = normaliseSerial(serialNumber);
    if (this.#serials.has(serial)) return false;
    this.#serials.add(serial);
    return true;
  }

  /**
   * Re-reads the store if anything was revoked since the last read. `added`: the serials new to this
   * set; `changed`: the store has revocations the last read did not see (some possibly added already
   * through add(), e.g. by this process).
   */
  async refresh(): Promise<{ added: string[]; changed: boolean }> {
    const [row] = await this.#store.query<{ n: string }>(
      "SELECT count(*)::int8 AS n FROM certificates WHERE status = 'revoked'",
    );
    const count = toSafeNumber(row?.n ?? '0');
    if (count === this.#count) return { added: [], changed: false };
    const rows = await this.#store.query<{ serial_number: string }>(
      "SELECT serial_number FROM certificates WHERE status = 'revoked'",
    );
    const added: string[] = [];
    for (const r of rows) if (this.add(r.serial_number)) added.push(r.serial_number);
    this.#count = count;
    return { added, changed: true };
  }
}
