/**
 * The audit log verifier (docs/audit.md "Verifying"): recomputes the RFC 9162 tree from the entries
 * themselves and checks it against every signed checkpoint. It trusts nothing stored beside an entry —
 * not its leaf hash, not the stored compact range, not a checkpoint's root column — only the entry bytes
 * and the two audit public keys.
 *
 * Every checkpoint must carry BOTH signatures, Ed25519 and ML-DSA-65, and both must verify
 * (SECURITY-CHECKLIST "Audit log": a checkpoint with one signature stripped is reported, never accepted
 * on the strength of the other). Consecutive checkpoints are consistent because each root is recomputed
 * from the same entries.
 *
 * Reports precisely what is wrong, each problem with a stable code (AuditProblemCode): which index does
 * not match its leaf hash, which index is missing, which checkpoint's signature is missing or fails or
 * whose root the entries no longer produce (an entry in a range was altered together with its leaf
 * hash), and a rewound log (a checkpoint larger than the log).
 *
 * One core (verifyAuditSource) reads any AuditEntrySource: the store (here), a replica directory or a
 * live gateway's public read API (./verify-source-tiles.ts) — so `audit verify --data-dir` and
 * `--from URL|DIR` check exactly the same things. A redacted entry (./redaction-format.ts) is hashed
 * by the leaf hash its stub keeps, and only accepted if the log records that redaction with a statement
 * signed by both audit keys, made after the entry, describing exactly that stub (and, but for a legal
 * erasure, at least the minimum retention after the entry). Each accepted redaction is listed in the
 * report with its signed reason code.
 *
 * Checkpoint sizes are attacker-controlled (a file name in a replica, a number in a gateway's listing):
 * a size is only used — as the point the entries are read up to — once both signatures over it have
 * verified, so an unsigned `checkpoints/9007199254740991` is reported, not followed (review H10 #2).
 */
import type { KeyObject } from 'node:crypto';
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { MerkleFrontier } from '@fleetgate/core/merkle/frontier';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { parseCheckpoint } from '@fleetgate/core/note/checkpoint';
import { type NoteVerifier, verifyNote } from '@fleetgate/core/note/signed-note';
import { encodeVerifierKey } from '@fleetgate/core/note/verifier-key';
import { type Store, toSafeNumber } from '../store/store.ts';
import { type AuditValue, canonicalJson } from './canonical-json.ts';
import {
  checkRedactionRecord,
  parseRedactionStub,
  type RedactionReasonCode,
  stubLeafHash,
} from './redaction-format.ts';

/** Closed union of the verifier's findings (docs/audit.md "Verifying"). */
export type AuditProblemCode =
  | 'AUDIT_ENTRY_MISSING'
  | 'AUDIT_ENTRY_HASH_MISMATCH'
  | 'AUDIT_ENTRY_NOT_INTEGRATED'
  | 'AUDIT_ENTRY_NOT_CANONICAL'
  | 'AUDIT_CHECKPOINT_SIGNATURE_MISSING'
  | 'AUDIT_CHECKPOINT_SIGNATURE_INVALID'
  | 'AUDIT_CHECKPOINT_MALFORMED'
  | 'AUDIT_CHECKPOINT_ORIGIN'
  | 'AUDIT_CHECKPOINT_STORED_MISMATCH'
  | 'AUDIT_LOG_REWOUND'
  | 'AUDIT_ROOT_MISMATCH'
  | 'AUDIT_ENTRIES_UNSEALED'
  | 'AUDIT_ENTRY_MALFORMED'
  | 'AUDIT_ENTRY_REDACTED_UNRECORDED'
  | 'AUDIT_REDACTION_RECORD_INVALID'
  | 'AUDIT_CHECKPOINTS_MISSING';

export interface AuditProblem {
  code: AuditProblemCode;
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
  /** Entries whose payload was redacted (retention): verified by the leaf hash their stub keeps. */
  redactedEntries: number;
  /**
   * The redactions whose signed record verified (not failures), in index order; at most
   * `maxRedactionsListed` of them (redactedEntries counts every stub).
   */
  redactions: AuditRedactionListing[];
  rootHash: string | null;
  problems: AuditProblem[];
}

/** One verified redaction, as listed in the report. */
export interface AuditRedactionListing {
  index: number;
  class: string;
  reasonCode: RedactionReasonCode;
  redactedAt: string;
  /** Index of the signed `audit.entry.redacted` record. */
  recordIndex: number;
}

export interface AuditVerifyOptions {
  origin: string;
  /** Ed25519 audit key. */
  publicKey: KeyObject;
  /** ML-DSA-65 audit key: both signatures are required on every checkpoint. */
  mlDsaPublicKey: KeyObject;
  /** Treat entries after the last checkpoint as a failure (the default after a clean shutdown). */
  requireSealed?: boolean;
  /** Stop listing after this many problems (the verdict is unaffected). */
  maxProblems?: number;
  /** Stop listing redactions after this many (default 1,000; redactedEntries counts all). */
  maxRedactionsListed?: number;
}

const PAGE = 5_000;
const CHECKPOINT_PAGE = 1_000;

/** One checkpoint as a source holds it: the signed note, the size it is filed under, any stored root. */
export interface AuditSourceCheckpoint {
  size: number;
  note: string;
  /** A root the source stores beside the note (the store's root_hash column), checked against the note. */
  storedRoot?: Uint8Array;
}

/**
 * What a source yields, in index order: an entry's bytes (and the leaf hash it stores beside them, if
 * any: the store's leaf_hash column, a replica's level-0 tile), or a problem only the source can see
 * (a malformed entry bundle).
 */
export type AuditSourceItem =
  | {
      kind: 'entry';
      index: number;
      entry: string;
      storedLeafHash?: Uint8Array;
      /**
       * The leaf hash the integrator wrote at this index when the entry was sealed (its full level-0
       * tile), where one exists: it names the exact index of rows moved whole or altered with their hash.
       */
      integratedLeafHash?: Uint8Array;
    }
  | { kind: 'problem'; problem: AuditProblem };

/**
 * Where the verifier reads a log from: the store (verifyAuditLog), a replica directory or a live
 * gateway's public read API (./verify-source-tiles.ts). The verification itself is one core.
 */
export interface AuditEntrySource {
  /**
   * Every checkpoint the source holds, ascending by size, streamed: the core keeps only the size and
   * root of those whose signatures verify, never every note (a busy log publishes one a second).
   */
  checkpoints(): AsyncIterable<AuditSourceCheckpoint>;
  /** Entries in ascending index order; `through` is the largest checkpoint size whose signatures verified. */
  entries(through: number): AsyncIterable<AuditSourceItem>;
}

/** The store as a source: audit_checkpoints and audit_entries, trusting neither hash column. */
export function storeAuditSource(store: Store): AuditEntrySource {
  return {
    async *checkpoints() {
      let after = -1;
      for (;;) {
        const rows = await store.query<{ tree_size: string; root_hash: Uint8Array; note: string }>(
          'SELECT tree_size, root_hash, note FROM audit_checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2',
          [String(after), CHECKPOINT_PAGE],
        );
        for (const r of rows) {
          after = toSafeNumber(r.tree_size);
          yield { size: after, storedRoot: r.root_hash, note: r.note };
        }
        if (rows.length < CHECKPOINT_PAGE) return;
      }
    },
    async *entries() {
      let from = 0;
      for (;;) {
        const rows = await store.query<{ idx: string; leaf_hash: Uint8Array; entry: string }>(
          'SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2',
          [String(from), PAGE],
        );
        const first = rows[0];
        const last = rows.at(-1);
        // The full level-0 tiles (256 leaf hashes each) the integrator wrote over this page.
        const tiles = new Map<number, Uint8Array>();
        if (first !== undefined && last !== undefined) {
          const tileRows = await store.query<{ idx: string; hashes: Uint8Array }>(
            'SELECT idx, hashes FROM audit_tiles WHERE level = 0 AND idx BETWEEN $1 AND $2',
            [
              String(Math.floor(toSafeNumber(first.idx) / 256)),
              String(Math.floor(toSafeNumber(last.idx) / 256)),
            ],
          );
          for (const t of tileRows) tiles.set(toSafeNumber(t.idx), t.hashes);
        }
        for (const row of rows) {
          const index = toSafeNumber(row.idx);
          const tile = tiles.get(Math.floor(index / 256));
          const at = (index % 256) * 32;
          yield {
            kind: 'entry',
            index,
            entry: row.entry,
            storedLeafHash: row.leaf_hash,
            ...(tile === undefined || tile.length !== 8192
              ? {}
              : { integratedLeafHash: tile.subarray(at, at + 32) }),
          };
          from = index + 1;
        }
        if (rows.length < PAGE) return;
      }
    },
  };
}

/** Verifies the log in the store (`fleetgate audit verify --data-dir`). */
export function verifyAuditLog(store: Store, options: AuditVerifyOptions): Promise<AuditVerifyReport> {
  return verifyAuditSource(storeAuditSource(store), options);
}

/** The one verification core, over any source. */
export async function verifyAuditSource(
  source: AuditEntrySource,
  options: AuditVerifyOptions,
): Promise<AuditVerifyReport> {
  const maxProblems = options.maxProblems ?? 100;
  const problems: AuditProblem[] = [];
  let problemCount = 0;
  const report = (p: AuditProblem): void => {
    problemCount += 1;
    if (problems.length < maxProblems) problems.push(p);
  };

  // 1. Checkpoints first: signatures, body, origin, stored columns. Only a size both keys signed is used.
  const signed: { size: number; root: Uint8Array; previous: number }[] = [];
  let previousSize = 0;
  let checkpointCount = 0;
  for await (const cp of source.checkpoints()) {
    checkpointCount += 1;
    const at = { checkpointSize: cp.size };
    const previous = previousSize;
    previousSize = cp.size;
    const body = checkSignatures(cp.note, options, (code, problem) => report({ code, ...at, problem }));
    if (body === undefined) continue;
    let parsed: ReturnType<typeof parseCheckpoint>;
    try {
      parsed = parseCheckpoint(body);
    } catch {
      report({ code: 'AUDIT_CHECKPOINT_MALFORMED', ...at, problem: 'signed checkpoint body is malformed' });
      continue;
    }
    if (parsed.origin !== options.origin) {
      report({ code: 'AUDIT_CHECKPOINT_ORIGIN', ...at, problem: `checkpoint origin is ${parsed.origin}` });
      continue;
    }
    if (parsed.size !== cp.size) {
      report({
        code: 'AUDIT_CHECKPOINT_STORED_MISMATCH',
        ...at,
        problem: `stored size or root differs from the signed checkpoint (signed for size ${parsed.size})`,
      });
      continue;
    }
    if (cp.storedRoot !== undefined && toHex(parsed.rootHash) !== toHex(cp.storedRoot)) {
      report({
        code: 'AUDIT_CHECKPOINT_STORED_MISMATCH',
        ...at,
        problem: 'stored size or root differs from the signed checkpoint (root)',
      });
    }
    signed.push({ size: parsed.size, root: parsed.rootHash, previous });
  }
  const through = Math.max(0, ...signed.map((c) => c.size));

  // 2. Entries up to the largest signed size: leaf hashes, and the roots at each signed size.
  const wanted = new Set(signed.map((c) => c.size));
  const recomputed = new Map<number, Uint8Array>();
  const frontier = new MerkleFrontier();
  if (wanted.has(0)) recomputed.set(0, frontier.root());
  // Redaction stubs seen (index -> stub text) and redactions recorded by verified, signed records.
  const stubs = new Map<number, string>();
  const recorded = new Map<number, { stubText: string; listing: AuditRedactionListing }>();
  const redactionKeys = {
    origin: options.origin,
    publicKey: options.publicKey,
    mlDsaPublicKey: options.mlDsaPublicKey,
  };

  let expected = 0;
  for await (const item of source.entries(through)) {
    if (item.kind === 'problem') {
      report(item.problem);
      continue;
    }
    const { index, entry } = item;
    if (index < expected) {
      report({
        code: 'AUDIT_ENTRY_MALFORMED',
        index,
        problem: `entry ${index} appears twice or out of order`,
      });
      continue;
    }
    if (index !== expected) {
      report({
        code: 'AUDIT_ENTRY_MISSING',
        index: expected,
        problem: `entries ${expected}..${index - 1} are missing`,
      });
      // Nothing after a gap can produce the signed roots; keep checking leaf hashes only.
    }
    const stub = parseRedactionStub(entry);
    let hash: Uint8Array;
    if (stub !== null) {
      // A redacted entry: its bytes are gone, its stub carries the original leaf hash.
      hash = stubLeafHash(stub);
      stubs.set(index, entry);
    } else {
      hash = leafHash(utf8(entry));
      const parsed = parseEntry(entry);
      if (parsed === undefined) {
        report({ code: 'AUDIT_ENTRY_NOT_CANONICAL', index, problem: 'entry is not canonical JSON' });
      } else {
        noteRedaction(parsed, index, redactionKeys, recorded, report);
      }
    }
    if (item.storedLeafHash !== undefined && toHex(hash) !== toHex(item.storedLeafHash)) {
      report({
        code: 'AUDIT_ENTRY_HASH_MISMATCH',
        index,
        problem: 'entry does not match its stored leaf hash (entry or hash altered)',
      });
    }
    if (item.integratedLeafHash !== undefined && toHex(hash) !== toHex(item.integratedLeafHash)) {
      report({
        code: 'AUDIT_ENTRY_NOT_INTEGRATED',
        index,
        problem:
          'another leaf was integrated at this index when it was sealed (its level-0 tile): rows reordered, or entry and leaf hash altered together',
      });
    }
    if (index === frontier.size) {
      frontier.append(hash);
      if (wanted.has(frontier.size)) recomputed.set(frontier.size, frontier.root());
    }
    expected = index + 1;
  }
  const entries = expected;
  if (entries < through) {
    // A truncated log or replica: name the first index that is gone.
    report({
      code: 'AUDIT_ENTRY_MISSING',
      index: entries,
      problem: `entries ${entries}..${through - 1} are missing (signed checkpoints cover ${through})`,
    });
  }

  // 3. Each signed checkpoint's root against the root the entries produce at its size.
  let verifiedSize = 0;
  for (const cp of signed) {
    const at = { checkpointSize: cp.size };
    if (cp.size > frontier.size) {
      report({
        code: 'AUDIT_LOG_REWOUND',
        ...at,
        problem: `log rewound: checkpoint covers ${cp.size} entries, log holds ${frontier.size}`,
      });
      continue;
    }
    const root = recomputed.get(cp.size);
    if (root === undefined || toHex(root) !== toHex(cp.root)) {
      // Each root is recomputed from the same entries, so consecutive checkpoints that both verify are
      // consistent (RFC 9162 §2.1.4); a mismatch points at the range since the previous checkpoint.
      report({
        code: 'AUDIT_ROOT_MISMATCH',
        ...at,
        problem: `entries no longer produce the signed root: an entry in [${cp.previous}, ${cp.size}) was altered`,
      });
      continue;
    }
    verifiedSize = Math.max(verifiedSize, cp.size);
  }

  // 4. Every stub must be exactly the stub a verified, signed redaction record describes.
  const maxListed = options.maxRedactionsListed ?? 1_000;
  const redactions: AuditRedactionListing[] = [];
  for (const [index, stubText] of stubs) {
    const record = recorded.get(index);
    if (record === undefined) {
      report({
        code: 'AUDIT_ENTRY_REDACTED_UNRECORDED',
        index,
        problem:
          'entry is a redaction stub, but no audit.entry.redacted record signed by both audit keys records that redaction',
      });
    } else if (record.stubText !== stubText) {
      report({
        code: 'AUDIT_ENTRY_REDACTED_UNRECORDED',
        index,
        problem: `redaction stub differs from the one the signed record at index ${record.listing.recordIndex} describes (class, time, leaf hash, redaction time or reason)`,
      });
    } else if (redactions.length < maxListed) {
      redactions.push(record.listing);
    }
  }

  const unsealedEntries = Math.max(0, entries - verifiedSize);
  if (options.requireSealed === true && unsealedEntries > 0 && problemCount === 0) {
    report({
      code: 'AUDIT_ENTRIES_UNSEALED',
      index: verifiedSize,
      problem: `${unsealedEntries} entries are not covered by a signed checkpoint`,
    });
  }
  return {
    ok: problemCount === 0,
    entries,
    checkpoints: checkpointCount,
    verifiedSize,
    unsealedEntries,
    redactedEntries: stubs.size,
    redactions,
    rootHash: entries === frontier.size ? toHex(frontier.root()) : null,
    problems,
  };
}

/**
 * Both signatures must be present and verify: each key is checked on its own, so the report says which
 * one is missing (stripped) or fails. Returns the signed text, or undefined after reporting.
 */
export function checkSignatures(
  note: string,
  options: Pick<AuditVerifyOptions, 'origin' | 'publicKey' | 'mlDsaPublicKey'>,
  report: (code: AuditProblemCode, problem: string) => void,
): string | undefined {
  const keys: [string, NoteVerifier][] = [
    ['Ed25519', { name: options.origin, publicKey: options.publicKey }],
    ['ML-DSA-65', { name: options.origin, publicKey: options.mlDsaPublicKey }],
  ];
  let text: string | undefined;
  let ok = true;
  for (const [alg, key] of keys) {
    const result = verifyOne(note, key);
    if (result.kind === 'verified') {
      text = result.text;
    } else if (result.kind === 'missing') {
      ok = false;
      report(
        'AUDIT_CHECKPOINT_SIGNATURE_MISSING',
        `checkpoint has no ${alg} signature by the audit key (stripped)`,
      );
    } else {
      ok = false;
      report(
        'AUDIT_CHECKPOINT_SIGNATURE_INVALID',
        `checkpoint ${alg} signature does not verify with the audit key`,
      );
    }
  }
  return ok ? text : undefined;
}

type OneKey = { kind: 'verified'; text: string } | { kind: 'missing' } | { kind: 'invalid' };

function verifyOne(note: string, key: NoteVerifier): OneKey {
  if (!hasSignatureLine(note, key)) return { kind: 'missing' };
  try {
    return { kind: 'verified', text: verifyNote(note, [key]).text };
  } catch {
    return { kind: 'invalid' };
  }
}

/** Whether the note has a signature line whose name and key ID are this key's. */
function hasSignatureLine(note: string, key: NoteVerifier): boolean {
  const [, keyId, key64] = encodeVerifierKey(key.name, key.publicKey).split('+');
  if (keyId === undefined || key64 === undefined) return false;
  const prefix = `\u2014 ${key.name} `;
  for (const line of note.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const raw = Buffer.from(line.slice(prefix.length), 'base64');
    if (raw.byteLength >= 4 && raw.subarray(0, 4).toString('hex') === keyId) return true;
  }
  return false;
}

/** The parsed entry when it is canonical JSON, else undefined. */
function parseEntry(entry: string): AuditValue | undefined {
  try {
    const value = JSON.parse(entry) as AuditValue;
    return canonicalJson(value) === entry ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks an `audit.entry.redacted` entry (at `recordIndex`) and records the redaction it proves, for the
 * stubs to be matched against. A record that does not verify is itself a finding: nobody holding the
 * audit keys wrote it (AUDIT_REDACTION_RECORD_INVALID, at the record's index).
 */
function noteRedaction(
  value: AuditValue,
  recordIndex: number,
  keys: Pick<AuditVerifyOptions, 'origin' | 'publicKey' | 'mlDsaPublicKey'>,
  recorded: Map<number, { stubText: string; listing: AuditRedactionListing }>,
  report: (p: AuditProblem) => void,
): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const entry = value as { [key: string]: AuditValue };
  if (entry.class !== 'audit.entry.redacted') return;
  const check = checkRedactionRecord(entry.details, recordIndex, keys);
  if (check.kind === 'invalid') {
    report({ code: 'AUDIT_REDACTION_RECORD_INVALID', index: recordIndex, problem: check.problem });
    return;
  }
  const { statement, stubText } = check.redaction;
  // The first verified record of an index counts; a later copy of a signed record adds nothing.
  if (recorded.has(statement.index)) return;
  recorded.set(statement.index, {
    stubText,
    listing: {
      index: statement.index,
      class: statement.redactedClass,
      reasonCode: statement.reasonCode,
      redactedAt: statement.redactedAt,
      recordIndex,
    },
  });
}
