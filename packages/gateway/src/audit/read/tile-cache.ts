/**
 * A bounded in-memory LRU of full C2SP tlog-tiles tiles (8 KiB each; default 4,096 tiles = 32 MiB), one
 * per gateway, shared by every read-API request. Full tiles never change once the tree contains them,
 * so entries are never invalidated, only evicted (threat: unbounded memory — the bound).
 */
export class TileCache {
  readonly #max: number;
  readonly #tiles = new Map<string, Uint8Array>();

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
}
