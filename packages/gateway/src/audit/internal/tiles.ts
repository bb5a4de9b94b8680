/**
 * The audit tree as C2SP tlog-tiles tiles (https://c2sp.org/tlog-tiles, "Merkle Tree"), read from the
 * store, and every RFC 9162 subtree hash the read API needs computed from them — not exported.
 *
 * Tile (L, N) holds, for i in 0..255, MTH(D[(N*256 + i) * 256^L : (N*256 + i + 1) * 256^L]): level 0
 * tiles are leaf hashes (audit_entries.leaf_hash), a level L > 0 hash is the root of a full tile at
 * level L-1. Full tiles never change: they are cached in `audit_tiles` (migration 009) once computed
 * and in a bounded in-memory LRU (read/tile-cache.ts). Partial tiles are computed per request.
 *
 * Only the tree of a signed checkpoint is read (`treeSize`), so nothing unsealed is ever served. The
 * hashes come from the store; callers that serve proofs check them against the signed root
 * (read/*.ts), so a store that no longer matches its checkpoints is refused, not served.
 *
 * Sizes and indices are safe integers below 2^53; powers of two are computed by multiplication, never
 * by 32-bit bit operations.
 */
import { nodeHash } from '@fleetgate/core/merkle/hash';
import { GatewayError } from '../../errors/gateway-error.ts';
import { type Queryable, toSafeNumber } from '../../store/store.ts';
import type { TileCache } from '../read/tile-cache.ts';

export const TILE_WIDTH = 256;
const TILE_HEIGHT = 8;
const HASH = 32;

/** 2^e for 0 <= e <= 63, exact in a double. */
export function pow2(e: number): number {
  return 2 ** e;
}

/** Number of complete hashes at tile level L in a tree of `size` leaves: floor(size / 256^L). */
export function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** Root of a perfect tree over `hashes` (a power-of-two count of 32-byte hashes, concatenated). */
function perfectRoot(hashes: Uint8Array): Uint8Array {
  let level: Uint8Array[] = [];
  for (let i = 0; i < hashes.byteLength; i += HASH) level.push(hashes.subarray(i, i + HASH));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(nodeHash(level[i] as Uint8Array, level[i + 1] as Uint8Array));
    level = next;
  }
  const [root] = level;
  if (root === undefined) throw new Error('empty perfect subtree');
  return root;
}

export class TileReader {
  readonly #db: Queryable;
  readonly #size: number;
  readonly #cache: TileCache;

  constructor(db: Queryable, treeSize: number, cache: TileCache) {
    this.#db = db;
    this.#size = treeSize;
    this.#cache = cache;
  }

  get treeSize(): number {
    return this.#size;
  }

  /**
   * The first `width` hashes of tile (level, index), concatenated. Throws AUDIT_TILE_NOT_FOUND when the
   * tree of `treeSize` leaves does not contain them.
   */
  async tile(level: number, index: number, width: number): Promise<Uint8Array> {
    const available = hashesAtLevel(this.#size, level) - index * TILE_WIDTH;
    if (width < 1 || width > TILE_WIDTH || available < width) {
      throw new GatewayError(
        'AUDIT_TILE_NOT_FOUND',
        `tile ${level}/${index} width ${width} is not in the tree`,
      );
    }
    if (available >= TILE_WIDTH) {
      const full = await this.#full(level, index);
      return width === TILE_WIDTH ? full : full.subarray(0, width * HASH);
    }
    return this.#compute(level, index, width);
  }

  /** Hash of the perfect subtree of height `height` at position `index` (must lie inside the tree). */
  async node(height: number, index: number): Promise<Uint8Array> {
    const level = Math.floor(height / TILE_HEIGHT);
    const span = pow2(height - level * TILE_HEIGHT);
    const first = index * span;
    const tileIndex = Math.floor(first / TILE_WIDTH);
    const position = first - tileIndex * TILE_WIDTH;
    const tile = await this.tile(level, tileIndex, position + span);
    return span === 1
      ? tile.slice(position * HASH, (position + 1) * HASH)
      : perfectRoot(tile.subarray(position * HASH, (position + span) * HASH));
  }

  /** MTH(D[start:end]) for a range the RFC 9162 recursion produces (start aligned, end <= treeSize). */
  async range(start: number, end: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let at = start;
    while (at < end) {
      let height = 0;
      while (at % pow2(height + 1) === 0 && at + pow2(height + 1) <= end) height += 1;
      parts.push(await this.node(height, at / pow2(height)));
      at += pow2(height);
    }
    let root = parts.pop();
    if (root === undefined) throw new Error('empty range');
    for (let i = parts.length - 1; i >= 0; i--) root = nodeHash(parts[i] as Uint8Array, root);
    return root;
  }

  async #full(level: number, index: number): Promise<Uint8Array> {
    const cached = this.#cache.get(level, index);
    if (cached !== undefined) return cached;
    const [row] = await this.#db.query<{ hashes: Uint8Array }>(
      'SELECT hashes FROM audit_tiles WHERE level = $1 AND idx = $2',
      [level, String(index)],
    );
    let tile = row?.hashes;
    if (tile === undefined) {
      tile = await this.#compute(level, index, TILE_WIDTH);
      await this.#db.query(
        'INSERT INTO audit_tiles (level, idx, hashes) VALUES ($1, $2, $3) ON CONFLICT (level, idx) DO NOTHING',
        [level, String(index), tile],
      );
    }
    this.#cache.set(level, index, tile);
    return tile;
  }

  async #compute(level: number, index: number, width: number): Promise<Uint8Array> {
    const out = new Uint8Array(width * HASH);
    if (level === 0) {
      const first = index * TILE_WIDTH;
      const rows = await this.#db.query<{ idx: string; leaf_hash: Uint8Array }>(
        'SELECT idx, leaf_hash FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
        [String(first), String(first + width)],
      );
      if (rows.length !== width || rows.some((r, i) => toSafeNumber(r.idx) !== first + i)) {
        throw new GatewayError(
          'AUDIT_LOG_INCONSISTENT',
          `entries ${first}..${first + width - 1} are not dense`,
        );
      }
      rows.forEach((r, i) => {
        out.set(r.leaf_hash, i * HASH);
      });
      return out;
    }
    // Each hash here is the root of a full child tile: from the root cache, else from the child tile
    // (children missing from memory are prefetched from audit_tiles in one query, then computed).
    const firstChild = index * TILE_WIDTH;
    const missing: number[] = [];
    for (let i = 0; i < width; i++) {
      if (this.#cache.getRoot(level - 1, firstChild + i) === undefined) missing.push(firstChild + i);
    }
    if (missing.length > 0) {
      const cached = await this.#db.query<{ idx: string; hashes: Uint8Array }>(
        'SELECT idx, hashes FROM audit_tiles WHERE level = $1 AND idx >= $2 AND idx <= $3',
        [level - 1, String(missing[0]), String(missing.at(-1))],
      );
      for (const row of cached) this.#cache.set(level - 1, toSafeNumber(row.idx), row.hashes);
    }
    for (let i = 0; i < width; i++) {
      const child = firstChild + i;
      let root = this.#cache.getRoot(level - 1, child);
      if (root === undefined) {
        root = perfectRoot(await this.#full(level - 1, child));
        this.#cache.setRoot(level - 1, child, root);
      }
      out.set(root, i * HASH);
    }
    return out;
  }
}
