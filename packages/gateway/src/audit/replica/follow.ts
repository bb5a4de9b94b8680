/**
 * One round of the audit log replica (issue 7 §5; docs/audit.md "Replica"): follow a gateway's public
 * read API and copy its log append-only, accepting new entries only when they provably extend what the
 * replica holds.
 *
 *  1. refuse to run while an ALARM file exists (REPLICA_ALARMED);
 *  2. load the held state and check it against the held signed checkpoint (REPLICA_STATE_INVALID);
 *  3. fetch the latest checkpoint; require BOTH signatures with the pinned keys (one stripped:
 *     REPLICA_SIGNATURE_MISSING) and the pinned origin;
 *  4. a smaller checkpoint is a rewind, the same size with another root a fork: ALARM, stop;
 *  5. the gateway's consistency proof from the held size must verify (RFC 9162 §2.1.4.2) between the
 *     held root and the new signed root — computed with OUR sizes and roots, never the response's;
 *     a failing proof is a fork: ALARM, stop;
 *  6. fetch the new entry bundles (parsed strictly) one at a time, keeping only their leaf hashes (a
 *     redaction stub counts by the leaf hash it keeps), and recompute the new root from the held compact
 *     range: it must equal the signed root (REPLICA_ENTRIES_INVALID), and entries already held that a
 *     bundle repeats must keep their leaf hashes (else a fork);
 *  7. fetch each bundle again and write it only if it gives the same leaf hashes (REPLICA_ENTRIES_INVALID
 *     if the gateway changed it between the two reads), then the tiles (immutable, durable), then
 *     checkpoints/<size>, then the state, then `checkpoint` — so a crash at any point leaves a replica
 *     that verifies.
 * Nothing is written before step 6 passes; an ALARM writes only the ALARM file, and an ALARM whose file
 * cannot be written is still the same ALARM (same code, exit 3), its message saying the write failed.
 *
 * Memory is bounded (review H10 #4): a round holds 32 bytes per new entry and one bundle at a time, never
 * the bundles of the whole range, and it covers at most `maxRoundEntries` entries (default 1,048,576:
 * 32 MiB of leaf hashes). When the gateway's checkpoint is further ahead, the round stops at the largest
 * signed checkpoint of the gateway's history (GET /v1/audit/checkpoints) within that many entries, and
 * reports `behind` so the caller runs the next round at once; a gateway offering none is REPLICA_UPSTREAM.
 * The price is reading each new bundle twice.
 */
import { toHex } from '@fleetgate/core/bytes';
import { verifyConsistency } from '@fleetgate/core/merkle/consistency';
import { MerkleFrontier } from '@fleetgate/core/merkle/frontier';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { parseCheckpoint } from '@fleetgate/core/note/checkpoint';
import { perfectRoot } from '../internal/tiles.ts';
import { parseRedactionStub, stubLeafHash } from '../redaction-format.ts';
import { checkSignatures } from '../verify.ts';
import type { PinnedAuditKeys } from '../verify-keys.ts';
import { parseCheckpointPage } from '../verify-source-tiles.ts';
import { ReplicaError } from './errors.ts';
import { type HttpOptions, httpGet, httpRequest } from './http.ts';
import {
  ALARM_FILE,
  CHECKPOINT_FILE,
  checkpointHistoryPath,
  HASH_SIZE,
  parseEntryBundle,
  STATE_FILE,
  TILE_WIDTH,
  tilePath,
} from './layout.ts';
import type { ReplicaTarget } from './target.ts';

export interface ReplicateOptions {
  /** The gateway's public listener, e.g. https://gateway:8443. */
  from: string;
  http: HttpOptions;
  target: ReplicaTarget;
  keys: PinnedAuditKeys;
  now?: () => Date;
  /** Most entries accepted in one round (default MAX_ROUND_ENTRIES). */
  maxRoundEntries?: number;
}

export interface ReplicateResult {
  from: number;
  to: number;
  /** The gateway's latest signed size: larger than `to` when the round stopped at maxRoundEntries. */
  latest: number;
}

/** Entries accepted in one round at most: 32 MiB of leaf hashes. */
export const MAX_ROUND_ENTRIES = 1_048_576;

interface Held {
  size: number;
  frontier: MerkleFrontier;
  root: Uint8Array;
  note: string | undefined;
}

interface Signed {
  size: number;
  root: Uint8Array;
  note: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Verifies a signed checkpoint with both pinned keys; coded ReplicaError otherwise. */
export function verifySignedCheckpoint(note: string, keys: PinnedAuditKeys): Signed {
  const failures: { code: string; problem: string }[] = [];
  const text = checkSignatures(note, keys, (code, problem) => failures.push({ code, problem }));
  const [first] = failures;
  if (text === undefined || first !== undefined) {
    const code =
      first?.code === 'AUDIT_CHECKPOINT_SIGNATURE_MISSING'
        ? 'REPLICA_SIGNATURE_MISSING'
        : 'REPLICA_SIGNATURE_INVALID';
    throw new ReplicaError(code, first?.problem ?? 'checkpoint does not verify');
  }
  let parsed: ReturnType<typeof parseCheckpoint>;
  try {
    parsed = parseCheckpoint(text);
  } catch (cause) {
    throw new ReplicaError('REPLICA_CHECKPOINT_MALFORMED', 'checkpoint body is malformed', { cause });
  }
  if (parsed.origin !== keys.origin) {
    throw new ReplicaError(
      'REPLICA_CHECKPOINT_MALFORMED',
      `checkpoint origin is ${parsed.origin.slice(0, 100)}`,
    );
  }
  return { size: parsed.size, root: parsed.rootHash, note };
}

/**
 * Writes the ALARM file (evidence: both checkpoints) and rethrows the alarm. A failed write does not turn
 * the alarm into a retryable failure: the same code is thrown (exit 3), saying the file is missing.
 */
async function alarm(target: ReplicaTarget, error: ReplicaError, now: Date): Promise<never> {
  const text = [
    `${error.code}: ${error.message}`,
    `time: ${now.toISOString()}`,
    '--- checkpoint held by the replica ---',
    error.evidence?.held ?? '(none)',
    '--- checkpoint served by the gateway ---',
    error.evidence?.served ?? '(none)',
    '',
  ].join('\n');
  try {
    await target.putMutable(ALARM_FILE, enc.encode(text));
  } catch (cause) {
    const why =
      cause instanceof ReplicaError
        ? `${cause.code}: ${cause.message}`
        : ((cause as NodeJS.ErrnoException).code ?? 'write failed');
    throw new ReplicaError(
      error.code,
      `${error.message} (the ${ALARM_FILE} file could not be written: ${why})`,
      error.evidence === undefined ? { cause } : { cause, evidence: error.evidence },
    );
  }
  throw error;
}

async function loadHeld(target: ReplicaTarget, keys: PinnedAuditKeys): Promise<Held> {
  const raw = await target.read(STATE_FILE);
  if (raw === undefined) {
    const frontier = new MerkleFrontier();
    return { size: 0, frontier, root: frontier.root(), note: undefined };
  }
  const invalid = (why: string, cause?: unknown): ReplicaError =>
    new ReplicaError(
      'REPLICA_STATE_INVALID',
      `${STATE_FILE}: ${why}`,
      cause === undefined ? undefined : { cause },
    );
  let state: { v?: unknown; origin?: unknown; size?: unknown; frontier?: unknown };
  try {
    state = JSON.parse(dec.decode(raw)) as typeof state;
  } catch (cause) {
    throw invalid('not JSON', cause);
  }
  if (
    state === null ||
    state.v !== 1 ||
    state.origin !== keys.origin ||
    !Number.isSafeInteger(state.size) ||
    (state.size as number) < 0 ||
    !Array.isArray(state.frontier) ||
    !state.frontier.every((h) => typeof h === 'string')
  ) {
    throw invalid('malformed, or for another origin');
  }
  const size = state.size as number;
  let frontier: MerkleFrontier;
  try {
    frontier = MerkleFrontier.restore(
      size,
      (state.frontier as string[]).map((h) => new Uint8Array(Buffer.from(h, 'base64'))),
    );
  } catch (cause) {
    throw invalid('compact range does not fit its size', cause);
  }
  if (size === 0) return { size, frontier, root: frontier.root(), note: undefined };
  const noteBytes = await target.read(checkpointHistoryPath(size));
  if (noteBytes === undefined) throw invalid(`checkpoints/${size} is missing`);
  const note = dec.decode(noteBytes);
  let signed: Signed;
  try {
    signed = verifySignedCheckpoint(note, keys);
  } catch (cause) {
    throw invalid(`checkpoints/${size} does not verify`, cause);
  }
  if (signed.size !== size || toHex(signed.root) !== toHex(frontier.root())) {
    throw invalid(`compact range does not produce the root of checkpoints/${size}`);
  }
  return { size, frontier, root: signed.root, note };
}

function entryLeafHash(entry: string): Uint8Array {
  const stub = parseRedactionStub(entry);
  return stub === null ? leafHash(enc.encode(entry)) : stubLeafHash(stub);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

export async function replicateOnce(options: ReplicateOptions): Promise<ReplicateResult> {
  const { target, keys, http } = options;
  const now = options.now ?? (() => new Date());
  const base = options.from.replace(/\/+$/, '');

  // 1.
  if ((await target.read(ALARM_FILE)) !== undefined) {
    throw new ReplicaError(
      'REPLICA_ALARMED',
      `${target.name} has an ALARM file: investigate, then remove it`,
    );
  }
  // 2.
  const held = await loadHeld(target, keys);
  // 3.
  const servedNote = dec.decode((await httpGet(`${base}/v1/audit/checkpoint`, http)) as Uint8Array);
  const served = verifySignedCheckpoint(servedNote, keys);
  const evidence = { ...(held.note === undefined ? {} : { held: held.note }), served: served.note };
  // 4.
  if (served.size < held.size) {
    return alarm(
      target,
      new ReplicaError(
        'REPLICA_REWOUND',
        `gateway checkpoint has ${served.size} entries, replica holds ${held.size}`,
        {
          evidence,
        },
      ),
      now(),
    );
  }
  if (served.size === held.size) {
    if (toHex(served.root) !== toHex(held.root)) {
      return alarm(
        target,
        new ReplicaError('REPLICA_FORK', `gateway checkpoint of size ${held.size} has another root`, {
          evidence,
        }),
        now(),
      );
    }
    return { from: held.size, to: held.size, latest: served.size };
  }
  const limit = held.size + (options.maxRoundEntries ?? MAX_ROUND_ENTRIES);
  const round = served.size <= limit ? served : await intermediate(base, http, keys, held.size, limit);
  // 5.
  if (held.size > 0) {
    const res = await httpRequest(
      `${base}/v1/audit/proof/consistency?size1=${held.size}&size2=${round.size}`,
      'GET',
      { ...http, maxBytes: 65_536 },
    );
    if (res.status !== 200) {
      throw new ReplicaError(
        'REPLICA_UPSTREAM',
        `consistency proof ${held.size}→${round.size}: status ${res.status}`,
      );
    }
    const proof = parseProof(res.body);
    const ok =
      proof !== undefined &&
      proof.size1 === held.size &&
      proof.size2 === round.size &&
      verifyConsistency({
        size1: held.size,
        size2: round.size,
        root1: held.root,
        root2: round.root,
        proof: proof.hashes,
      });
    if (!ok) {
      return alarm(
        target,
        new ReplicaError(
          'REPLICA_FORK',
          `consistency proof from ${held.size} to ${round.size} does not verify`,
          { evidence: { ...evidence, served: round.note } },
        ),
        now(),
      );
    }
  }
  // 6. Leaf hashes only, one bundle in memory at a time.
  const heldTileOf = async (n: number, heldCount: number): Promise<Uint8Array> => {
    const heldTile = await target.read(tilePath(0, n, heldCount));
    if (heldTile === undefined || heldTile.byteLength !== heldCount * HASH_SIZE) {
      throw new ReplicaError('REPLICA_STATE_INVALID', `${tilePath(0, n, heldCount)} is missing or truncated`);
    }
    return heldTile;
  };
  const firstBundle = Math.floor(held.size / TILE_WIDTH);
  const newLeaves: Uint8Array[] = [];
  for (let n = firstBundle; n * TILE_WIDTH < round.size; n++) {
    const { path, hashes } = await fetchBundle(base, http, n, round.size);
    const heldCount = Math.max(0, held.size - n * TILE_WIDTH);
    if (
      heldCount > 0 &&
      toHex(concat(hashes.slice(0, heldCount))) !== toHex(await heldTileOf(n, heldCount))
    ) {
      return alarm(
        target,
        new ReplicaError(
          'REPLICA_FORK',
          `${path} changes entries the replica holds (before index ${held.size})`,
          { evidence },
        ),
        now(),
      );
    }
    for (const h of hashes.slice(heldCount)) newLeaves.push(h);
  }
  const frontier = MerkleFrontier.restore(held.size, held.frontier.hashes());
  for (const h of newLeaves) frontier.append(h);
  if (toHex(frontier.root()) !== toHex(round.root)) {
    throw new ReplicaError(
      'REPLICA_ENTRIES_INVALID',
      `entries ${held.size}..${round.size - 1} do not produce the signed root of size ${round.size}`,
    );
  }
  // 7. Each bundle again: written only if it still gives the leaf hashes that produced the signed root.
  for (let n = firstBundle; n * TILE_WIDTH < round.size; n++) {
    const { path, bytes, hashes } = await fetchBundle(base, http, n, round.size);
    const first = n * TILE_WIDTH;
    const heldCount = Math.max(0, held.size - first);
    const fresh = newLeaves.slice(Math.max(0, first - held.size), first + hashes.length - held.size);
    const expected = concat([...(heldCount > 0 ? [await heldTileOf(n, heldCount)] : []), ...fresh]);
    if (toHex(concat(hashes)) !== toHex(expected)) {
      throw new ReplicaError('REPLICA_ENTRIES_INVALID', `${path} changed between two reads`);
    }
    await target.putImmutable(path, bytes);
  }
  await writeTiles(target, held.size, round.size, newLeaves);
  await target.putImmutable(checkpointHistoryPath(round.size), enc.encode(round.note));
  const state = {
    v: 1,
    origin: keys.origin,
    size: round.size,
    frontier: frontier.hashes().map((h) => Buffer.from(h).toString('base64')),
  };
  await target.putMutable(STATE_FILE, enc.encode(`${JSON.stringify(state)}\n`));
  await target.putMutable(CHECKPOINT_FILE, enc.encode(round.note));
  return { from: held.size, to: round.size, latest: served.size };
}

/** Entry bundle `n` of a tree of `size` entries, parsed strictly, with its entries' leaf hashes. */
async function fetchBundle(
  base: string,
  http: HttpOptions,
  n: number,
  size: number,
): Promise<{ path: string; bytes: Uint8Array; hashes: Uint8Array[] }> {
  const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
  const path = tilePath('entries', n, width);
  const bytes = (await httpGet(`${base}/v1/audit/tlog/${path}`, http)) as Uint8Array;
  const bundle = parseEntryBundle(bytes, width);
  if (bundle.error !== undefined) {
    throw new ReplicaError('REPLICA_ENTRIES_INVALID', `${path}: ${bundle.error}`);
  }
  return { path, bytes, hashes: bundle.entries.map(entryLeafHash) };
}

/**
 * The largest checkpoint of the gateway's history in (heldSize, limit], both signatures verified: where
 * a round stops when the latest checkpoint is more than maxRoundEntries ahead. Probes the listing from
 * limit, then from halfway, and so on (at most 64 requests).
 */
async function intermediate(
  base: string,
  http: HttpOptions,
  keys: PinnedAuditKeys,
  heldSize: number,
  limit: number,
): Promise<Signed> {
  for (let step = limit - heldSize; step >= 1; step = Math.floor(step / 2)) {
    const from = heldSize + step;
    const body = (await httpGet(`${base}/v1/audit/checkpoints?from=${from}&limit=100`, http)) as Uint8Array;
    const page = parseCheckpointPage(dec.decode(body));
    const within = page.checkpoints.filter((c) => c.size > heldSize && c.size <= limit);
    const best = within.at(-1);
    if (best !== undefined) {
      const signed = verifySignedCheckpoint(best.note, keys);
      if (signed.size !== best.size) {
        throw new ReplicaError(
          'REPLICA_CHECKPOINT_MALFORMED',
          `listed size ${best.size} is not the signed size`,
        );
      }
      return signed;
    }
  }
  throw new ReplicaError(
    'REPLICA_UPSTREAM',
    `the gateway lists no signed checkpoint within ${limit - heldSize} entries of size ${heldSize}`,
  );
}

/**
 * Hash tiles for the leaves [heldSize, newSize): at each level the new hashes are appended to the held
 * partial tile (read back), full tiles feed the next level (their roots). Same bytes as the gateway's.
 */
async function writeTiles(
  target: ReplicaTarget,
  heldSize: number,
  newSize: number,
  leaves: readonly Uint8Array[],
): Promise<void> {
  let fresh: readonly Uint8Array[] = leaves;
  for (let level = 0; ; level++) {
    const oldCount = Math.floor(heldSize / TILE_WIDTH ** level);
    const newCount = Math.floor(newSize / TILE_WIDTH ** level);
    if (newCount === oldCount) return;
    const next: Uint8Array[] = [];
    for (let n = Math.floor(oldCount / TILE_WIDTH); n * TILE_WIDTH < newCount; n++) {
      const start = n * TILE_WIDTH;
      const width = Math.min(TILE_WIDTH, newCount - start);
      const parts: Uint8Array[] = [];
      if (start < oldCount) {
        const prefix = await target.read(tilePath(level, n, oldCount - start));
        if (prefix === undefined || prefix.byteLength !== (oldCount - start) * HASH_SIZE) {
          throw new ReplicaError(
            'REPLICA_STATE_INVALID',
            `${tilePath(level, n, oldCount - start)} is missing`,
          );
        }
        parts.push(prefix);
      }
      parts.push(...fresh.slice(Math.max(start, oldCount) - oldCount, start + width - oldCount));
      const tile = concat(parts);
      await target.putImmutable(tilePath(level, n, width), tile);
      if (width === TILE_WIDTH) next.push(perfectRoot(tile));
    }
    fresh = next;
  }
}

/** The consistency-proof JSON of the read API; undefined when malformed (at most 64 hashes). */
function parseProof(body: Uint8Array): { size1: number; size2: number; hashes: Uint8Array[] } | undefined {
  let doc: { size1?: unknown; size2?: unknown; proof?: unknown };
  try {
    doc = JSON.parse(dec.decode(body)) as typeof doc;
  } catch {
    return undefined;
  }
  if (
    doc === null ||
    typeof doc !== 'object' ||
    !Number.isSafeInteger(doc.size1) ||
    !Number.isSafeInteger(doc.size2) ||
    !Array.isArray(doc.proof) ||
    doc.proof.length > 64 ||
    !doc.proof.every((p) => typeof p === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(p))
  ) {
    return undefined;
  }
  return {
    size1: doc.size1 as number,
    size2: doc.size2 as number,
    hashes: (doc.proof as string[]).map((p) => new Uint8Array(Buffer.from(p, 'base64'))),
  };
}
