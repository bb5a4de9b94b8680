/**
 * The DPoP proof replay cache (RFC 9449 §11.1) in the store, so a proof accepted by one gateway node is
 * refused by every other: `dpop_jti` (migration 006) has the primary key (jkt, jti), and recording a
 * proof is one INSERT … ON CONFLICT DO NOTHING — atomic on both engines, no read-then-write race.
 * A row is kept until the proof's iat could no longer pass the window (iat + max age + skew); expired
 * rows are deleted at most once a minute by whichever request comes along.
 */
import type { Queryable } from '../../store/store.ts';

const PURGE_INTERVAL_MS = 60_000;

export class DpopReplayCache {
  readonly #store: Queryable;
  #lastPurge = Number.NEGATIVE_INFINITY;

  constructor(store: Queryable) {
    this.#store = store;
  }

  /** Records a proof; false when (jkt, jti) was already recorded (a replay). */
  async record(jkt: string, jti: string, expiresAt: Date, now: Date): Promise<boolean> {
    const rows = await this.#store.query(
      'INSERT INTO dpop_jti (jkt, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jkt, jti) DO NOTHING RETURNING jti',
      [jkt, jti, expiresAt],
    );
    const clock = performance.now();
    if (clock - this.#lastPurge >= PURGE_INTERVAL_MS) {
      this.#lastPurge = clock;
      await this.#store.query('DELETE FROM dpop_jti WHERE expires_at < $1', [now]);
    }
    return rows.length === 1;
  }
}
