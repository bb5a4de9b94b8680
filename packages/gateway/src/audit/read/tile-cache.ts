/**
 * A bounded in-memory LRU of full C2SP tlog-tiles tiles (8 KiB each; default 4,096 tiles = 32 MiB) and
 * of their roots (32 bytes each, 64 times as many), one per gateway, shared by every read-API request. Full tiles never change once the tree contains them,
 * so entries are never invalidated, only evicted (threat: unbounded memory — the bound).
 */
export class TileCache {
  readonly #max: number;
  readonly #tiles = new Map<string, Uint8Array>();
  /** MTH of each full tile (the hash the level above holds), 32 bytes each, bounded like the tiles. */
  readonly #roots = new Map<string, Uint8Array>();

  constructor(max = 4_096) {
    this.#max = max;
  }

  get(level: number, index: number): Uint8Array | undefined {
    const key = `${level}/${index}`;
    const tile = this.#tiles.get(key);
    if (tile !== undefined) {
      this.#tiles.delete(key);
      this.#tiles.set(key, tile);
    }
    return tile;
  }

  set(level: number, index: number, tile: Uint8Array): void {
    this.#tiles.set(`${level}/${index}`, tile);
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
