/**
 * A bounded in-memory LRU of C2SP tlog-tiles tiles, one per gateway, shared by every read-API request
 * (threat: unbounded memory — the bound). Each entry is a TileTree: the tile's hashes (8 KiB when full)
 * and, built the first time a proof needs a node inside it, the tile's internal perfect subtrees (255
 * more hashes), so at most 16 KiB a tile: the default 2,048 tiles stay under 32 MiB. Beside it, the
 * roots of full tiles (32 bytes each, 64 times as many), which partial tiles one level up are made of.
 *
 * A tile of a given width never changes once the tree contains it — full tiles, and partial tiles too
 * (`level/index.p/width` is a fixed prefix of the tree) — so entries are never invalidated, only
 * evicted.
 */
import type { TileTree } from '../internal/tiles.ts';

export class TileCache {
  readonly #max: number;
  readonly #tiles = new Map<string, TileTree>();
  /** MTH of each full tile (the hash the level above holds), 32 bytes each. */
  readonly #roots = new Map<string, Uint8Array>();

  constructor(max = 2_048) {
    this.#max = max;
  }

  /** The tile (level, index) of `width` hashes (256: full), most recently used first. */
  get(level: number, index: number, width = 256): TileTree | undefined {
    const key = tileKey(level, index, width);
    const tile = this.#tiles.get(key);
    if (tile !== undefined) {
      this.#tiles.delete(key);
      this.#tiles.set(key, tile);
    }
    return tile;
  }

  set(level: number, index: number, tile: TileTree): void {
    this.#tiles.set(tileKey(level, index, tile.width), tile);
    if (this.#tiles.size > this.#max) {
      const oldest = this.#tiles.keys().next().value;
      if (oldest !== undefined) this.#tiles.delete(oldest);
    }
  }

  getRoot(level: number, index: number): Uint8Array | undefined {
    return this.#roots.get(`${level}/${index}`);
  }

  setRoot(level: number, index: number, root: Uint8Array): void {
    this.#roots.set(`${level}/${index}`, root);
    if (this.#roots.size > this.#max * 64) {
      const oldest = this.#roots.keys().next().value;
      if (oldest !== undefined) this.#roots.delete(oldest);
    }
  }
}

function tileKey(level: number, index: number, width: number): string {
  return width === 256 ? `${level}/${index}` : `${level}/${index}.p/${width}`;
}
