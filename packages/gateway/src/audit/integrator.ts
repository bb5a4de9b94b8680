/**
 * The integrator (issue 7 §2; docs/audit.md "Integrator"): keeps the tree's C2SP tlog-tiles tiles
 * (https://c2sp.org/tlog-tiles) in the store as the log grows, apart from sequencing (log.ts appends)
 * and publishing (log.ts signs). The publisher calls integrate() in the same step as it signs a
 * checkpoint, just before: every tile that became FULL in the newly sealed range is written to
 * `audit_tiles` (migration 009) — level 0 from the leaf hashes, level L > 0 from the roots of the 256
 * full tiles below it as soon as they exist — so the read API finds full tiles in the store without
 * ever computing one (read/*.ts keep computing on a miss for logs written before the integrator).
 *
 * Steady state costs no extra read: the publisher hands over the leaf hashes it folds into the compact
 * range (observe()), and the integrator keeps the leaves of the current partial level-0 tile and, per
 * level above, the roots of the full tiles of the current partial tile (at most 255 hashes a level).
 *
 * Threats and bounds:
 *  - a huge backlog (a log written before the integrator, a node that was down) must not stall
 *    checkpoints: one round writes at most `maxTilesPerRound` level-0 tiles (and the tiles above that
 *    they fill), reading at most that many leaves, and the next rounds catch up — one per checkpoint
 *    interval. Memory is bounded the same way (the observed leaves are capped).
 *  - several nodes publishing: every write is `ON CONFLICT DO NOTHING` and the bytes of a full tile are
 *    a function of the log, so concurrent or repeated writes are harmless.
 *  - a gap in the entries: AUDIT_LOG_INCONSISTENT, as the publisher (never a tile over a gap).
 *  - a tampered tile row: never trusted — every proof served is verified against the signed root
 *    (read/inclusion-proof.ts, read/consistency-proof.ts).
 *
 * Where to resume after a start is read from the store: the first level-0 tile missing, or, if lower,
 * the first leaf of the first missing tile of any level above (tiles written on first read before the
 * integrator existed may leave holes); from there on it only ever moves forward.
 */
import { toHex } from '@fleetgate/core/bytes';
import { GatewayError } from '../errors/gateway-error.ts';
import { type Queryable, toSafeNumber } from '../store/store.ts';
import { HASH, hashesAtLevel, perfectRoot, TILE_WIDTH } from './internal/tiles.ts';

export interface IntegratorOptions {
  /** Level-0 tiles (256 leaves each) written in one round at most: the catch-up bound. */
  maxTilesPerRound: number;
}

/** 256 tiles = 65,536 entries a round: far above the sequencer's rate, about 4 MiB of hex a round. */
export const DEFAULT_INTEGRATOR_OPTIONS: IntegratorOptions = { maxTilesPerRound: 256 };

export interface IntegrationRound {
  /** Tiles written (or found already written by another node) this round, every level. */
  tiles: number;
  /** Entries covered by full level-0 tiles in the store from here on (a multiple of 256). */
  integrated: number;
  /** True when full tiles of the sealed range remain to be written in later rounds. */
  behind: boolean;
}

interface TileRow {
  level: number;
  index: number;
  hashes: Uint8Array;
}

export class AuditIntegrator {
  readonly #db: Queryable;
  readonly #options: IntegratorOptions;
  /** Leaves covered by the level-0 tiles written; undefined until read from the store. */
  #integrated: number | undefined;
  /** Leaf hashes of [#integrated, #integrated + #tail.length), handed over by the publisher. */
  #tail: Uint8Array[] = [];
  /** #pending[L] (L >= 1): roots of the full level L-1 tiles of the current partial level-L tile. */
  #pending: Uint8Array[][] = [];

  constructor(db: Queryable, options: Partial<IntegratorOptions> = {}) {
    this.#db = db;
    this.#options = { ...DEFAULT_INTEGRATOR_OPTIONS, ...options };
  }

  /**
   * Leaf hashes the publisher folded, starting at index `start`. Kept when they continue what the
   * integrator holds and stay under the round bound; otherwise dropped (integrate() reads them).
   */
  observe(start: number, leafHashes: readonly Uint8Array[]): void {
    if (this.#integrated === undefined || start !== this.#integrated + this.#tail.length) return;
    if (this.#tail.length + leafHashes.length > (this.#options.maxTilesPerRound + 1) * TILE_WIDTH) return;
    this.#tail.push(...leafHashes);
  }

  /**
   * Writes the full tiles of the first `size` entries (all committed and dense: the publisher checked)
   * that are not written yet, at most `maxTilesPerRound` level-0 tiles and the tiles above they fill.
   */
  async integrate(size: number): Promise<IntegrationRound> {
    if (this.#integrated === undefined) await this.#resume(size);
    const from = this.#integrated as number;
    const sealed = Math.floor(size / TILE_WIDTH) * TILE_WIDTH;
    const end = Math.min(sealed, from + this.#options.maxTilesPerRound * TILE_WIDTH);
    if (end <= from) return { tiles: 0, integrated: from, behind: false };
    let leaves = this.#tail;
    if (leaves.length < end - from) {
      // Caught up: read to `size`, so the next observed batch continues the tail; behind: to `end`.
      const readEnd = end === sealed ? size : end;
      leaves = leaves.concat(await this.#readLeaves(from + leaves.length, readEnd));
    }
    const pending = this.#pending.map((p) => [...p]);
    const rows: TileRow[] = [];
    for (let at = from; at < end; at += TILE_WIDTH) {
      const hashes = concat(leaves.slice(at - from, at - from + TILE_WIDTH));
      rows.push({ level: 0, index: at / TILE_WIDTH, hashes });
      // Cascade: a full tile's root completes a slot one level up; 256 of them complete that tile.
      let root = perfectRoot(hashes);
      for (let level = 1; ; level++) {
        const slots = pending[level] ?? [];
        pending[level] = slots;
        slots.push(root);
        if (slots.length < TILE_WIDTH) break;
        const tile = concat(slots);
        rows.push({ level, index: hashesAtLevel(at + TILE_WIDTH, level + 1) - 1, hashes: tile });
        pending[level] = [];
        root = perfectRoot(tile);
      }
    }
    await this.#write(rows);
    this.#integrated = end;
    this.#tail = leaves.slice(end - from);
    this.#pending = pending;
    return { tiles: rows.length, integrated: end, behind: end < sealed };
  }

  async #readLeaves(start: number, end: number): Promise<Uint8Array[]> {
    if (end <= start) return [];
    const rows = await this.#db.query<{ idx: string; leaf_hash: Uint8Array }>(
      'SELECT idx, leaf_hash FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
      [String(start), String(end)],
    );
    rows.forEach((r, i) => {
      if (toSafeNumber(r.idx) !== start + i) {
        throw new GatewayError('AUDIT_LOG_INCONSISTENT', `audit log has a gap at index ${start + i}`);
      }
    });
    if (rows.length !== end - start) {
      throw new GatewayError('AUDIT_LOG_INCONSISTENT', `audit log has a gap at index ${start + rows.length}`);
    }
    return rows.map((r) => r.leaf_hash);
  }

  async #write(rows: readonly TileRow[]): Promise<void> {
    await this.#db.query(
      `INSERT INTO audit_tiles (level, idx, hashes)
       SELECT l, i, decode(h, 'hex') FROM unnest($1::int2[], $2::int8[], $3::text[]) AS u(l, i, h)
       ON CONFLICT (level, idx) DO NOTHING`,
      [rows.map((r) => String(r.level)), rows.map((r) => String(r.index)), rows.map((r) => toHex(r.hashes))],
    );
  }

  /** Reads where to resume from the store, and the roots the partial tiles above that point hold. */
  async #resume(size: number): Promise<void> {
    // Per level, the first missing tile index: the first position where idx differs from its rank.
    const levels = await this.#db.query<{ level: number; n: string; gap: string | null }>(
      `SELECT level::int4 AS level, count(*) AS n, min(pos) FILTER (WHERE idx <> pos) AS gap
       FROM (SELECT level, idx, row_number() OVER (PARTITION BY level ORDER BY idx) - 1 AS pos
             FROM audit_tiles) t
       GROUP BY level`,
    );
    const firstMissing = new Map(
      levels.map((r) => [Number(r.level), r.gap === null ? toSafeNumber(r.n) : toSafeNumber(r.gap)]),
    );
    let resume = Math.floor(size / TILE_WIDTH) * TILE_WIDTH;
    for (let level = 0; hashesAtLevel(size, level + 1) > 0; level++) {
      const missing = firstMissing.get(level) ?? 0;
      if (missing < hashesAtLevel(size, level + 1)) {
        resume = Math.min(resume, missing * TILE_WIDTH ** (level + 1));
      }
    }
    // #pending[L]: the roots of level L-1 tiles [256 * floor(c / 256), c), c = full ones below resume;
    // all of them exist (resume is at or below every level's first missing tile).
    const want: { level: number; from: number; to: number }[] = [];
    for (let level = 1; hashesAtLevel(resume, level) > 0; level++) {
      const c = hashesAtLevel(resume, level);
      const from = Math.floor(c / TILE_WIDTH) * TILE_WIDTH;
      if (from < c) want.push({ level: level - 1, from, to: c });
    }
    const pending: Uint8Array[][] = [];
    if (want.length > 0) {
      const rows = await this.#db.query<{ level: number; idx: string; hashes: Uint8Array }>(
        `SELECT t.level::int4 AS level, t.idx, t.hashes FROM audit_tiles t
         JOIN unnest($1::int2[], $2::int8[], $3::int8[]) AS u(l, lo, hi)
           ON t.level = u.l AND t.idx >= u.lo AND t.idx < u.hi
         ORDER BY t.level, t.idx`,
        [want.map((w) => String(w.level)), want.map((w) => String(w.from)), want.map((w) => String(w.to))],
      );
      for (const w of want) {
        const tiles = rows.filter((r) => Number(r.level) === w.level);
        if (tiles.length !== w.to - w.from || tiles.some((r, i) => toSafeNumber(r.idx) !== w.from + i)) {
          throw new GatewayError('AUDIT_LOG_INCONSISTENT', `audit tiles at level ${w.level} have a gap`);
        }
        pending[w.level + 1] = tiles.map((r) => perfectRoot(r.hashes));
      }
    }
    this.#integrated = resume;
    this.#tail = [];
    this.#pending = pending;
  }
}

function concat(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH);
  hashes.forEach((h, i) => {
    out.set(h, i * HASH);
  });
  return out;
}
