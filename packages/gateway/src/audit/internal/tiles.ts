/**
 * The audit tree as C2SP tlog-tiles tiles (https://c2sp.org/tlog-tiles, "Merkle Tree"), read from the
 * store, and every RFC 9162 subtree hash the read API needs computed from them — not exported.
 *
 * Tile (L, N) holds, for i in 0..255, MTH(D[(N*256 + i) * 256^L : (N*256 + i + 1) * 256^L]): level 0
 * tiles are leaf hashes (audit_entries.leaf_hash), a level L > 0 hash is the root of a full tile at
 * level L-1. Full tiles never change: the integrator (../integrator.ts) writes each to `audit_tiles`
 * (migration 009) when the publisher seals the range that fills it. A full tile missing there (a log
 * written before the integrator, or one it has not caught up with yet) is computed from the level
 * below and stored, as before. Partial tiles are computed from the leaves or from the roots of the full
 * tiles below them. Full tiles and partial tiles above level 0 stay in a bounded in-memory LRU
 * (read/tile-cache.ts); the partial level-0 tile is read from the entries on every request.
 *
 * One round trip: a proof first plans every subtree it needs (ranges()), then fetches every tile the
 * LRU lacks — full tiles by (level, index) and the leaves of a partial level-0 tile — in ONE query.
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
export const TILE_HEIGHT = 8;
export const HASH = 32;

/** 2^e for 0 <= e <= 63, exact in a double. */
export function pow2(e: number): number {
  return 2 ** e;
}

/** Number of complete hashes at tile level L in a tree of `size` leaves: floor(size / 256^L). */
export function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** Root of a perfect tree over `hashes` (a power-of-two count of 32-byte hashes, concatenated). */
export function perfectRoot(hashes: Uint8Array): Uint8Array {
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

/**
 * One tile's hashes and, built on first use, its internal perfect subtrees: node(k, j) is the MTH of
 * hashes [j * 2^k, (j + 1) * 2^k) of the tile (k = 0: the hash itself).
 */
export class TileTree {
  readonly hashes: Uint8Array;
  #levels: Uint8Array[][] | undefined;

  constructor(hashes: Uint8Array) {
    const width = hashes.byteLength / HASH;
    if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new Error('not a tile');
    this.hashes = hashes;
  }

  get width(): number {
    return this.hashes.byteLength / HASH;
  }

  node(k: number, j: number): Uint8Array {
    if (k === 0) {
      if (j >= this.width) throw new Error('node outside the tile');
      return this.hashes.slice(j * HASH, (j + 1) * HASH);
    }
    const hash = this.#build()[k]?.[j];
    if (hash === undefined) throw new Error('node outside the tile');
    return hash;
  }

  /** MTH of a full tile: the hash the level above holds for it. */
  root(): Uint8Array {
    return this.node(TILE_HEIGHT, 0);
  }

  #build(): Uint8Array[][] {
    if (this.#levels !== undefined) return this.#levels;
    const levels: Uint8Array[][] = [[]];
    const first = levels[0] as Uint8Array[];
    for (let i = 0; i < this.hashes.byteLength; i += HASH) first.push(this.hashes.subarray(i, i + HASH));
    for (let below = first; below.length > 1; ) {
      const next: Uint8Array[] = [];
      for (let i = 0; i + 1 < below.length; i += 2) {
        next.push(nodeHash(below[i] as Uint8Array, below[i + 1] as Uint8Array));
      }
      levels.push(next);
      below = next;
    }
    this.#levels = levels;
    return levels;
  }
}

/** A perfect subtree: `height` levels above the leaves, the `index`-th of its size from the left. */
export interface TreeNode {
  height: number;
  index: number;
}

/** The perfect subtrees MTH(D[start:end]) folds, left to right (a range the RFC 9162 recursion makes). */
export function rangeNodes(start: number, end: number): TreeNode[] {
  const nodes: TreeNode[] = [];
  let at = start;
  while (at < end) {
    let height = 0;
    while (at % pow2(height + 1) === 0 && at + pow2(height + 1) <= end) height += 1;
    nodes.push({ height, index: at / pow2(height) });
    at += pow2(height);
  }
  if (nodes.length === 0) throw new Error('empty range');
  return nodes;
}

/** Where a node lies: tile (level, tile) of `width` hashes, its node (k, j) inside (TileTree.node). */
interface NodeRef {
  level: number;
  tile: number;
  width: number;
  k: number;
  j: number;
}

const key = (level: number, tile: number, width: number): string => `${level}/${tile}/${width}`;

/** Standard base64 from our own query (encode(…, 'base64'): line breaks every 76 characters) to bytes. */
function fromBase64(text: string): Uint8Array {
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export class TileReader {
  readonly #db: Queryable;
  readonly #size: number;
  readonly #cache: TileCache;
  /** Tiles this reader loaded, so that a small shared LRU cannot evict them between load and use. */
  readonly #local = new Map<string, TileTree>();

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
    const full = Math.min(available, TILE_WIDTH);
    await this.#load([{ level, tile: index, width: full }]);
    const tree = this.#tree(level, index, full);
    return width === full ? tree.hashes : tree.hashes.subarray(0, width * HASH);
  }

  /** Hash of the perfect subtree of height `height` at position `index` (must lie inside the tree). */
  async node(height: number, index: number): Promise<Uint8Array> {
    const ref = this.#ref({ height, index });
    await this.#load([ref]);
    return this.#tree(ref.level, ref.tile, ref.width).node(ref.k, ref.j);
  }

  /** MTH(D[start:end]) for a range the RFC 9162 recursion produces (start aligned, end <= treeSize). */
  async range(start: number, end: number): Promise<Uint8Array> {
    const [root] = await this.ranges([[start, end]]);
    return root as Uint8Array;
  }

  /** MTH of each range, every tile they need fetched at once (one query for what the LRU lacks). */
  async ranges(list: readonly (readonly [number, number])[]): Promise<Uint8Array[]> {
    const refs = list.map(([start, end]) => rangeNodes(start, end).map((n) => this.#ref(n)));
    await this.#load(refs.flat());
    return refs.map((parts) => {
      const hashes = parts.map((r) => this.#tree(r.level, r.tile, r.width).node(r.k, r.j));
      let root = hashes.pop() as Uint8Array;
      for (let i = hashes.length - 1; i >= 0; i--) root = nodeHash(hashes[i] as Uint8Array, root);
      return root;
    });
  }

  #ref(node: TreeNode): NodeRef {
    const level = Math.floor(node.height / TILE_HEIGHT);
    const k = node.height - level * TILE_HEIGHT;
    const first = node.index * pow2(k);
    const tile = Math.floor(first / TILE_WIDTH);
    const available = hashesAtLevel(this.#size, level) - tile * TILE_WIDTH;
    if (first + pow2(k) > hashesAtLevel(this.#size, level)) {
      throw new GatewayError('AUDIT_TILE_NOT_FOUND', `node ${node.height}/${node.index} is not in the tree`);
    }
    return {
      level,
      tile,
      width: Math.min(available, TILE_WIDTH),
      k,
      j: (first - tile * TILE_WIDTH) / pow2(k),
    };
  }

  #tree(level: number, tile: number, width: number): TileTree {
    const tree = this.#local.get(key(level, tile, width));
    if (tree === undefined) throw new Error(`tile ${level}/${tile} was not loaded`);
    return tree;
  }

  #keep(level: number, tile: number, tree: TileTree): void {
    this.#local.set(key(level, tile, tree.width), tree);
    this.#cache.set(level, tile, tree);
  }

  /** The root of full tile (level, index), from the LRU or from a loaded tile. */
  #rootOf(level: number, index: number): Uint8Array | undefined {
    const cached = this.#cache.getRoot(level, index);
    if (cached !== undefined) return cached;
    const tree = this.#local.get(key(level, index, TILE_WIDTH));
    if (tree === undefined) return undefined;
    const root = tree.root();
    this.#cache.setRoot(level, index, root);
    return root;
  }

  /**
   * Makes every tile in `wanted` available in #local: from the LRU, else from ONE query that fetches
   * the full tiles (and the full children of partial tiles whose roots are not cached) from audit_tiles
   * and the leaves of a partial level-0 tile from audit_entries; a full tile missing from audit_tiles
   * is computed (#computeFull).
   */
  async #load(wanted: readonly { level: number; tile: number; width: number }[]): Promise<void> {
    const fullMissing = new Map<string, [number, number]>();
    const partials: { level: number; tile: number; width: number }[] = [];
    let leaves: [number, number] | undefined;
    for (const w of wanted) {
      const k = key(w.level, w.tile, w.width);
      if (this.#local.has(k)) continue;
      // The partial level-0 tile is read from the entries on every request, never from the LRU: it is
      // where a rewound or truncated store shows, and the proof must see it (AUDIT_LOG_INCONSISTENT).
      const leafEdge = w.level === 0 && w.width < TILE_WIDTH;
      const cached = leafEdge ? undefined : this.#cache.get(w.level, w.tile, w.width);
      if (cached !== undefined) {
        this.#local.set(k, cached);
        continue;
      }
      if (w.width === TILE_WIDTH) {
        fullMissing.set(key(w.level, w.tile, TILE_WIDTH), [w.level, w.tile]);
        continue;
      }
      if (partials.some((p) => p.level === w.level && p.tile === w.tile)) continue;
      partials.push(w);
      if (w.level === 0) {
        leaves = [w.tile * TILE_WIDTH, w.tile * TILE_WIDTH + w.width];
        continue;
      }
      for (let c = w.tile * TILE_WIDTH; c < w.tile * TILE_WIDTH + w.width; c++) {
        if (this.#cache.getRoot(w.level - 1, c) !== undefined) continue;
        const child = this.#cache.get(w.level - 1, c);
        if (child !== undefined) this.#local.set(key(w.level - 1, c, TILE_WIDTH), child);
        else fullMissing.set(key(w.level - 1, c, TILE_WIDTH), [w.level - 1, c]);
      }
    }
    let leafTile: Uint8Array | undefined;
    if (fullMissing.size > 0 || leaves !== undefined) {
      // Hashes travel as base64 text: one row per tile, one row for all the leaves (string_agg), which
      // both engines return several times faster than bytea (PGlite decodes bytea hex in JavaScript).
      const params: string[] = [];
      const parts: string[] = [];
      const terms = [...fullMissing.values()].map(([level, tile]) => {
        params.push(String(level), String(tile));
        return `(level = $${params.length - 1} AND idx = $${params.length})`;
      });
      if (terms.length > 0) {
        parts.push(
          `SELECT level::int4 AS level, idx, encode(hashes, 'base64') AS hashes FROM audit_tiles WHERE ${terms.join(' OR ')}`,
        );
      }
      if (leaves !== undefined) {
        params.push(String(leaves[0]), String(leaves[1]));
        parts.push(
          `SELECT -1 AS level, count(*) AS idx, encode(string_agg(leaf_hash, ''::bytea ORDER BY idx), 'base64') AS hashes
           FROM audit_entries WHERE idx >= $${params.length - 1} AND idx < $${params.length}`,
        );
      }
      const rows = await this.#db.query<{ level: number; idx: string; hashes: string | null }>(
        parts.join(' UNION ALL '),
        params,
      );
      for (const row of rows) {
        const bytes = fromBase64(row.hashes ?? '');
        if (Number(row.level) === -1) {
          // idx is the primary key: as many rows as the range is wide means no gap (checked below).
          if (toSafeNumber(row.idx) * HASH === bytes.byteLength) leafTile = bytes;
          continue;
        }
        const level = Number(row.level);
        const idx = toSafeNumber(row.idx);
        if (!fullMissing.delete(key(level, idx, TILE_WIDTH))) continue;
        this.#keep(level, idx, new TileTree(bytes));
      }
    }
    for (const [level, tile] of fullMissing.values()) await this.#computeFull(level, tile);
    for (const p of partials) {
      const out = new Uint8Array(p.width * HASH);
      if (p.level === 0) {
        if (leafTile === undefined || leafTile.byteLength !== p.width * HASH) {
          const first = p.tile * TILE_WIDTH;
          throw new GatewayError(
            'AUDIT_LOG_INCONSISTENT',
            `entries ${first}..${first + p.width - 1} are not dense`,
          );
        }
        out.set(leafTile);
      } else {
        for (let i = 0; i < p.width; i++) {
          const child = p.tile * TILE_WIDTH + i;
          const root =
            this.#rootOf(p.level - 1, child) ?? (await this.#computeFull(p.level - 1, child)).root();
          out.set(root, i * HASH);
        }
      }
      const tree = new TileTree(out);
      if (p.level === 0) this.#local.set(key(0, p.tile, p.width), tree);
      else this.#keep(p.level, p.tile, tree);
    }
  }

  /**
   * A full tile that audit_tiles lacks, computed from the level below and stored (ON CONFLICT DO
   * NOTHING: another node or the integrator may store the same bytes at the same time).
   */
  async #computeFull(level: number, index: number): Promise<TileTree> {
    const out = new Uint8Array(TILE_WIDTH * HASH);
    const first = index * TILE_WIDTH;
    if (level === 0) {
      const rows = await this.#db.query<{ idx: string; leaf_hash: Uint8Array }>(
        'SELECT idx, leaf_hash FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
        [String(first), String(first + TILE_WIDTH)],
      );
      if (rows.length !== TILE_WIDTH || rows.some((r, i) => toSafeNumber(r.idx) !== first + i)) {
        throw new GatewayError(
          'AUDIT_LOG_INCONSISTENT',
          `entries ${first}..${first + TILE_WIDTH - 1} are not dense`,
        );
      }
      rows.forEach((r, i) => {
        out.set(r.leaf_hash, i * HASH);
      });
    } else {
      // Each hash is the root of a full child tile: children the LRU lacks come from audit_tiles in
      // one query, the rest are computed the same way.
      const missing: number[] = [];
      for (let c = first; c < first + TILE_WIDTH; c++)
        if (this.#rootOf(level - 1, c) === undefined) missing.push(c);
      if (missing.length > 0) {
        const rows = await this.#db.query<{ idx: string; hashes: Uint8Array }>(
          'SELECT idx, hashes FROM audit_tiles WHERE level = $1 AND idx >= $2 AND idx <= $3',
          [level - 1, String(missing[0]), String(missing.at(-1))],
        );
        for (const row of rows) this.#keep(level - 1, toSafeNumber(row.idx), new TileTree(row.hashes));
      }
      for (let i = 0; i < TILE_WIDTH; i++) {
        const root =
          this.#rootOf(level - 1, first + i) ?? (await this.#computeFull(level - 1, first + i)).root();
        out.set(root, i * HASH);
      }
    }
    await this.#db.query(
      'INSERT INTO audit_tiles (level, idx, hashes) VALUES ($1, $2, $3) ON CONFLICT (level, idx) DO NOTHING',
      [level, String(index), out],
    );
    const tree = new TileTree(out);
    this.#keep(level, index, tree);
    return tree;
  }
}
