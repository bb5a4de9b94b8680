/**
 * The replica's layout (docs/audit.md "Replica"): the C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles)
 * with the bytes the gateway serves, plus a history of every accepted checkpoint and a state file.
 *
 *   checkpoint                        latest accepted signed checkpoint (replaced atomically, last)
 *   tile/<L>/<N>[.p/<W>]              hash tiles; full tiles immutable, partial ones may be superseded
 *   tile/entries/<N>[.p/<W>]          entry bundles (big-endian uint16 length || entry)
 *   checkpoints/<size>                every checkpoint accepted, immutable (the verifier's history)
 *   replica.json                      state: origin, size, compact range (replaced atomically)
 *   ALARM                             evidence of a fork or rewind; the replica refuses to run while present
 *
 * Also the entry-bundle parser, shared with the verifier's tile source: bundles are hostile input —
 * a length prefix past the end, trailing bytes, more or fewer entries than the width, or invalid UTF-8
 * are reported, never thrown past the caller.
 */
import { encodeTileIndex } from '../read/tiles.ts';

export const TILE_WIDTH = 256;
export const HASH_SIZE = 32;
export const STATE_FILE = 'replica.json';
export const ALARM_FILE = 'ALARM';
export const CHECKPOINT_FILE = 'checkpoint';

/** `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`. */
export function tilePath(level: number | 'entries', index: number, width: number): string {
  const base = `tile/${level}/${encodeTileIndex(index)}`;
  return width === TILE_WIDTH ? base : `${base}.p/${width}`;
}

export function checkpointHistoryPath(size: number): string {
  return `checkpoints/${size}`;
}

export interface ParsedBundle {
  entries: string[];
  /** Set when the bundle is malformed after `entries.length` entries. */
  error?: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses a tlog-tiles entry bundle that must hold exactly `width` entries. */
export function parseEntryBundle(bytes: Uint8Array, width: number): ParsedBundle {
  const entries: string[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    if (entries.length === width) return { entries, error: 'bundle has bytes after its last entry' };
    if (at + 2 > bytes.byteLength) return { entries, error: 'bundle ends inside a length prefix' };
    const length = ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
    if (at + 2 + length > bytes.byteLength) return { entries, error: 'entry length runs past the bundle' };
    try {
      entries.push(decoder.decode(bytes.subarray(at + 2, at + 2 + length)));
    } catch {
      return { entries, error: 'entry is not valid UTF-8' };
    }
    at += 2 + length;
  }
  if (entries.length !== width)
    return { entries, error: `bundle holds ${entries.length} entries, not ${width}` };
  return { entries };
}
