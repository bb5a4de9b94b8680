/**
 * The audit log verifier: recomputes the RFC 9162 tree from the entries themselves and checks it against
 * every signed checkpoint. It trusts nothing stored beside an entry — not its leaf hash, not the stored
 * compact range, not a checkpoint's root column — only the entry bytes and the audit public key.
 *
 * Reports precisely what is wrong: which index does not match its leaf hash, which index is missing,
 * which checkpoint's signature fails or whose root the entries no longer produce (an entry in a range
 * was altered together with its leaf hash), and a rewound log (a checkpoint larger than the log).
 */
import type { KeyObject } from 'node:crypto';
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { MerkleFrontier } from '@fleetgate/core/merkle/frontier';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { parseCheckpoint } from '@fleetgate/core/note/checkpoint';
import { verifyNote } from '@fleetgate/core/note/signed-note';
import { type Store, toSafeNumber } from '../store/store.ts';
import { type AuditValue, canonicalJson } from './canonical-json.ts';

export interface AuditProblem {
  index?: number;
  checkpointSize?: number;
  problem: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  /** Size of the largest checkpoint whose signature and root verified. */
  verifiedSize: number;
  /** Entries after the last checkpoint: their hashes match, but no signed root covers them yet. */
  unsealedEntries: number;
  rootHash: string | null;
  problems: AuditProblem[];
}

export interface AuditVerifyOptions {
  origin: string;
  publicKey: KeyObject;
  /** Treat entries after the last checkpoint as a failure (the default after a clean shutdown). */
  requireSealed?: boolean;
  /** Stop listing after this many problems (the verdict is unaffected). */
  maxProblems?: number;
}

const PAGE = 5_000;

interface StoredCheckpoint {
  size: number;
  rootHash: Uint8Array;
  note: string;
}

export async function verifyAuditLog(store: Store, options: AuditVerifyOptions): Promise<AuditVerifyReport> {
  const maxProblems = options.maxProblems ?? 100;
  const problems: AuditProblem[] = [];
  let problemCount = 0;
  const report = (p: AuditProblem): void => {
    problemCount += 1;
    if (problems.length < maxProblems) problems.push(p);
  };

  const checkpoints = (
    await store.query<{ tree_size: string; root_hash: Uint8Array; note: string }>(
      'SELECT tree_size, root_hash, note FROM audit_checkpoints ORDER BY tree_size',
    )
  ).map((r): StoredCheckpoint => ({ size: toSafeNumber(r.tree_size), rootHash: r.root_hash, note: r.note }));

  // Roots recomputed from the entries, at each checkpoint size.
  const wanted = new Set(checkpoints.map((c) => c.size));
  const recomputed = new Map<number, Uint8Array>();
  const frontier = new MerkleFrontier();
  if (wanted.has(0)) recomputed.set(0, frontier.root());

  let expected = 0;
  for (;;) {
    const rows = await store.query<{ idx: string; leaf_hash: Uint8Array; entry: string }>(
      'SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2',
      [String(expected), PAGE],
    );
    for (const row of rows) {
      const index = toSafeNumber(row.idx);
      if (index !== expected) {
        report({ index: expected, problem: `entries ${expected}..${index - 1} are missing` });
        // Nothing after a gap can produce the signed roots; keep checking leaf hashes only.
      }
      const hash = leafHash(utf8(row.entry));
      if (toHex(hash) !== toHex(row.leaf_hash)) {
        report({ index, problem: 'entry does not match its stored leaf hash (entry or hash altered)' });
      }
      if (!isCanonical(row.entry)) report({ index, problem: 'entry is not canonical JSON' });
      if (index === frontier.size) {
        frontier.append(hash);
        if (wanted.has(frontier.size)) recomputed.set(frontier.size, frontier.root());
      }
      expected = index + 1;
    }
    if (rows.length < PAGE) break;
  }
  const entries = expected;

  let verifiedSize = 0;
  for (const cp of checkpoints) {
    const at = { checkpointSize: cp.size };
    let body: string;
    try {
      body = verifyNote(cp.note, [{ name: options.origin, publicKey: options.publicKey }]).text;
    } catch {
      report({ ...at, problem: 'checkpoint signature does not verify with the audit key' });
      continue;
    }
    let parsed: ReturnType<typeof parseCheckpoint>;
    try {
      parsed = parseCheckpoint(body);
    } catch {
      report({ ...at, problem: 'signed checkpoint body is malformed' });
      continue;
    }
    if (parsed.origin !== options.origin) report({ ...at, problem: `checkpoint origin is ${parsed.origin}` });
    if (parsed.size !== cp.size || toHex(parsed.rootHash) !== toHex(cp.rootHash)) {
      report({ ...at, problem: 'stored size or root differs from the signed checkpoint' });
    }
    if (cp.size > frontier.size) {
      report({
        ...at,
        problem: `log rewound: checkpoint covers ${cp.size} entries, log holds ${frontier.size}`,
      });
      continue;
    }
    const root = recomputed.get(cp.size);
    if (root === undefined || toHex(root) !== toHex(parsed.rootHash)) {
      const previous = Math.max(0, ...checkpoints.filter((c) => c.size < cp.size).map((c) => c.size));
      report({
        ...at,
        problem: `entries no longer produce the signed root: an entry in [${previous}, ${cp.size}) was altered`,
      });
      continue;
    }
    verifiedSize = Math.max(verifiedSize, cp.size);
  }

  const unsealedEntries = Math.max(0, entries - verifiedSize);
  if (options.requireSealed === true && unsealedEntries > 0 && problemCount === 0) {
    report({
      index: verifiedSize,
      problem: `${unsealedEntries} entries are not covered by a signed checkpoint`,
    });
  }
  return {
    ok: problemCount === 0,
    entries,
    checkpoints: checkpoints.length,
    verifiedSize,
    unsealedEntries,
    rootHash: entries === frontier.size ? toHex(frontier.root()) : null,
    problems,
  };
}

function isCanonical(entry: string): boolean {
  try {
    return canonicalJson(JSON.parse(entry) as AuditValue) === entry;
  } catch {
    return false;
  }
}
