/**
 * The static C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles) served from the store, so a CDN can
 * front the public listener: `<prefix>/tile/<L>/<N>[.p/<W>]` (hash tiles) and
 * `<prefix>/tile/entries/<N>[.p/<W>]` (entry bundles), for the tree of the latest signed checkpoint.
 *
 * Paths are attacker-controlled: parsed strictly by the spec (L decimal 0..63 without leading zeros; N
 * in 3-digit elements, all but the last prefixed 'x', canonical — no redundant leading 'x000'; W
 * decimal 1..255 without leading zeros), anything else is REQUEST_INVALID. A tile, width or bundle the
 * tree does not contain is AUDIT_TILE_NOT_FOUND; empty tiles are never served.
 */
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Queryable } from '../../store/store.ts';
import { latestSignedCheckpoint } from '../internal/signed-checkpoint.ts';
import { TILE_WIDTH, TileReader } from '../internal/tiles.ts';
import { entryBundle, entryRange } from './entries.ts';
import type { TileCache } from './tile-cache.ts';

export interface TilePath {
  /** A hash tile level, or 'entries' for an entry bundle. */
  level: number | 'entries';
  index: number;
  /** 256 for a full tile. */
  width: number;
  partial: boolean;
}

const LEVEL_RE = /^(?:0|[1-9][0-9]?)$/;
const WIDTH_RE = /^[1-9][0-9]{0,2}$/;

/** Encodes a tile index as tlog-tiles path elements: 1234067 → "x001/x234/067". */
export function encodeTileIndex(index: number): string {
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** Parses the part after `tile/`; throws REQUEST_INVALID on anything the spec does not allow. */
export function parseTilePath(path: string): TilePath {
  const invalid = (): GatewayError => new GatewayError('REQUEST_INVALID', 'not a tlog-tiles tile path');
  if (path.length > 128) throw invalid();
  const parts = path.split('/');
  const head = parts.shift();
  let level: number | 'entries';
  if (head === 'entries') level = 'entries';
  else if (head !== undefined && LEVEL_RE.test(head) && Number(head) <= 63) level = Number(head);
  else throw invalid();
  const groups: string[] = [];
  let partial = false;
  let width = TILE_WIDTH;
  while (parts.length > 0) {
    const part = parts.shift() as string;
    if (/^x[0-9]{3}$/.test(part)) {
      groups.push(part.slice(1));
      continue;
    }
    const last = /^([0-9]{3})(\.p)?$/.exec(part);
    if (last === null) throw invalid();
    groups.push(last[1] as string);
    if (last[2] !== undefined) {
      const w = parts.shift();
      if (w === undefined || !WIDTH_RE.test(w) || Number(w) > 255) throw invalid();
      partial = true;
      width = Number(w);
    }
    if (parts.length > 0) throw invalid();
    const index = Number(groups.join(''));
    if (
      !Number.isSafeInteger(index) ||
      encodeTileIndex(index) !== groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/')
    ) {
      throw invalid();
    }
    return { level, index, width, partial };
  }
  throw invalid();
}

/** The bytes of a tile or entry bundle in the tree of the latest signed checkpoint. */
export async function readTile(db: Queryable, cache: TileCache, path: TilePath): Promise<Uint8Array> {
  const latest = await latestSignedCheckpoint(db);
  if (path.level === 'entries') {
    const start = path.index * TILE_WIDTH;
    const available = latest.size - start;
    if (available < path.width) {
      throw new GatewayError(
        'AUDIT_TILE_NOT_FOUND',
        `entry bundle ${path.index} width ${path.width} is not in the tree`,
      );
    }
    return entryBundle(await entryRange(db, start, start + path.width));
  }
  // Partial widths of a tile that is now full are still served (the spec lets a log delete them; we
  // keep them, so a client holding an older checkpoint can always fetch what it needs).
  return new TileReader(db, latest.size, cache).tile(path.level, path.index, path.width);
}
