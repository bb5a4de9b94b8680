/**
 * Verifier sources over the C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles), for
 * `fleetgate audit verify --from DIR|URL` (docs/audit.md "Verifying offline (--from)"): a replica
 * directory written by `fleetgate audit replicate` (./replica/layout.ts), or a live gateway's public
 * read API (/v1/audit/tlog/… and GET /v1/audit/checkpoints). Both feed the one verification core in
 * ./verify.ts, so they are checked exactly like the store.
 *
 * Entries come from entry bundles, and the level-0 hash tiles beside them are the "stored" leaf hashes
 * (a replica whose bundle and tile disagree is reported at the index). Everything read is hostile:
 * bundles are parsed strictly (./replica/layout.ts), checkpoint files are capped at 1 MiB, listings are
 * type-checked, and a missing or truncated bundle shows up as missing entries at the right index.
 *
 * Bounds (review H10 #2): a checkpoint's size is a file name or a listed number until its signatures
 * verify, so the core reads entries only up to the largest VERIFIED size; checkpoints are streamed, one
 * note at a time; a gateway's listing is capped at `maxPages` pages and `maxCheckpoints` checkpoints
 * (REPLICA_UPSTREAM beyond: a listing that never ends is refused, not followed); and after
 * MAX_MISSING_BUNDLES consecutive missing entry bundles the source stops (the core reports the rest as
 * missing), so even a signed but absurd size costs a bounded number of reads.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ReplicaError } from './replica/errors.ts';
import { type HttpOptions, httpGet } from './replica/http.ts';
import { HASH_SIZE, parseEntryBundle, TILE_WIDTH, tilePath } from './replica/layout.ts';
import type { AuditEntrySource, AuditSourceCheckpoint, AuditSourceItem } from './verify.ts';

/** Read access to one tlog-tiles tree plus its checkpoint history. */
export interface TlogReader {
  /** The bytes at a layout path (`tile/0/000.p/5`), or undefined when absent. */
  read(path: string): Promise<Uint8Array | undefined>;
  /** Every checkpoint held, ascending by size, streamed. */
  checkpoints(): AsyncIterable<AuditSourceCheckpoint>;
}

const MAX_CHECKPOINT_BYTES = 1_048_576;
const DECIMAL_RE = /^(?:0|[1-9][0-9]{0,15})$/;
/** Consecutive absent entry bundles after which the source stops reading. */
export const MAX_MISSING_BUNDLES = 16;

/** Limits on a gateway's checkpoint listing (GET /v1/audit/checkpoints). */
export interface ListingLimits {
  /** Pages requested at most (default 100,000). */
  maxPages: number;
  /** Checkpoints listed at most (default 10,000,000: ten weeks of one a second). */
  maxCheckpoints: number;
}

export const DEFAULT_LISTING_LIMITS: ListingLimits = { maxPages: 100_000, maxCheckpoints: 10_000_000 };

/** A replica directory. */
export function dirTlogReader(dir: string): TlogReader {
  return {
    async read(path) {
      try {
        return new Uint8Array(await readFile(join(dir, path)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async *checkpoints() {
      let names: string[];
      try {
        names = await readdir(join(dir, 'checkpoints'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      const sizes = names
        .filter((name) => DECIMAL_RE.test(name) && Number.isSafeInteger(Number(name)))
        .map(Number)
        .sort((a, b) => a - b);
      for (const size of sizes) {
        const path = join(dir, 'checkpoints', String(size));
        if ((await stat(path)).size > MAX_CHECKPOINT_BYTES) {
          yield { size, note: '' };
          continue;
        }
        yield { size, note: await readFile(path, 'utf8') };
      }
    },
  };
}

/** A live gateway's public listener, e.g. `https://gateway.example:8443`. */
export function gatewayTlogReader(
  baseUrl: string,
  http: HttpOptions,
  limits: ListingLimits = DEFAULT_LISTING_LIMITS,
): TlogReader {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    read: (path) => httpGet(`${base}/v1/audit/tlog/${path}`, http, true),
    async *checkpoints() {
      let from = 0;
      let listed = 0;
      for (let pages = 1; ; pages++) {
        if (pages > limits.maxPages) {
          throw new ReplicaError('REPLICA_UPSTREAM', `checkpoint listing runs past ${limits.maxPages} pages`);
        }
        const body = await httpGet(`${base}/v1/audit/checkpoints?from=${from}&limit=100`, http);
        const page = parseCheckpointPage(new TextDecoder().decode(body));
        for (const cp of page.checkpoints) {
          if (cp.size < from)
            throw new ReplicaError('REPLICA_UPSTREAM', 'checkpoint listing is out of order');
          listed += 1;
          if (listed > limits.maxCheckpoints) {
            throw new ReplicaError(
              'REPLICA_UPSTREAM',
              `checkpoint listing holds more than ${limits.maxCheckpoints} checkpoints`,
            );
          }
          yield cp;
          from = cp.size + 1;
        }
        if (page.next === null || page.checkpoints.length === 0) return;
        if (page.next < from) throw new ReplicaError('REPLICA_UPSTREAM', 'checkpoint listing goes backwards');
        from = page.next;
      }
    },
  };
}

/** GET /v1/audit/checkpoints answer: `{checkpoints: [{size, note}], next: number | null}`. */
export function parseCheckpointPage(text: string): {
  checkpoints: AuditSourceCheckpoint[];
  next: number | null;
} {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ReplicaError('REPLICA_UPSTREAM', 'checkpoint listing is not JSON');
  }
  const d = doc as { checkpoints?: unknown; next?: unknown } | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    !Array.isArray(d.checkpoints) ||
    d.checkpoints.length > 1000 ||
    !(d.next === null || Number.isSafeInteger(d.next))
  ) {
    throw new ReplicaError('REPLICA_UPSTREAM', 'checkpoint listing is malformed');
  }
  const checkpoints = d.checkpoints.map((c: unknown): AuditSourceCheckpoint => {
    const cp = c as { size?: unknown; note?: unknown } | null;
    if (
      cp === null ||
      typeof cp !== 'object' ||
      !Number.isSafeInteger(cp.size) ||
      typeof cp.note !== 'string'
    ) {
      throw new ReplicaError('REPLICA_UPSTREAM', 'checkpoint listing entry is malformed');
    }
    return { size: cp.size as number, note: cp.note };
  });
  return { checkpoints, next: d.next as number | null };
}

/** The verifier's source over a tlog-tiles reader. */
export function tlogAuditSource(reader: TlogReader): AuditEntrySource {
  return {
    checkpoints: () => reader.checkpoints(),
    entries: (through) => bundleEntries(reader, through),
  };
}

async function* bundleEntries(reader: TlogReader, through: number): AsyncGenerator<AuditSourceItem> {
  let missing = 0;
  for (let n = 0; n * TILE_WIDTH < through; n++) {
    const first = n * TILE_WIDTH;
    const width = Math.min(TILE_WIDTH, through - first);
    const bytes = await reader.read(tilePath('entries', n, width));
    if (bytes === undefined) {
      // Reported as missing entries by the core; past a long run of them nothing more is read.
      missing += 1;
      if (missing >= MAX_MISSING_BUNDLES) return;
      continue;
    }
    missing = 0;
    const bundle = parseEntryBundle(bytes, width);
    const tile = await reader.read(tilePath(0, n, width));
    const hashes = tile !== undefined && tile.byteLength === width * HASH_SIZE ? tile : undefined;
    if (tile !== undefined && hashes === undefined) {
      yield {
        kind: 'problem',
        problem: {
          code: 'AUDIT_ENTRY_MALFORMED',
          index: first,
          problem: `level-0 tile ${n} has the wrong length`,
        },
      };
    }
    for (const [i, entry] of bundle.entries.entries()) {
      const index = first + i;
      yield hashes === undefined
        ? { kind: 'entry', index, entry }
        : {
            kind: 'entry',
            index,
            entry,
            storedLeafHash: hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE),
          };
    }
    if (bundle.error !== undefined) {
      yield {
        kind: 'problem',
        problem: {
          code: 'AUDIT_ENTRY_MALFORMED',
          index: first + bundle.entries.length,
          problem: `entry bundle ${n}: ${bundle.error}`,
        },
      };
    }
  }
}
