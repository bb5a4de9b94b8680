/**
 * The tamper-evident audit log: an RFC 9162 Merkle tree over canonical JSON entries.
 *
 * Sequencing, integration and publishing are kept apart (tessera's model):
 *  - append() *sequences*: inside the caller's transaction it takes the next dense index under a table
 *    lock held only for the tail of that transaction, so an entry exists exactly when the decision it
 *    records was committed, and indices commit in order with no gap, across gateway nodes.
 *  - publish() *integrates* committed entries into the compact range and *publishes* a signed checkpoint
 *    (C2SP tlog-checkpoint in a C2SP signed note). It runs on a timer, at least every second while the
 *    log grows, and once more on shutdown.
 */
import type { KeyObject } from 'node:crypto';
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { MerkleFrontier } from '@fleetgate/core/merkle/frontier';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { formatCheckpoint } from '@fleetgate/core/note/checkpoint';
import { signNote } from '@fleetgate/core/note/signed-note';
import { type Queryable, type Store, toSafeNumber } from '../store/store.ts';
import { canonicalJson } from './canonical-json.ts';
import { type AuditEvent, auditDocument } from './event.ts';

export interface AuditReceipt {
  index: number;
  leafHash: Uint8Array;
}

export interface Checkpoint {
  size: number;
  rootHash: Uint8Array;
  note: string;
}

export interface AuditSigner {
  origin: string;
  privateKey: KeyObject;
}

const INTEGRATE_BATCH = 5_000;

export class AuditLog {
  readonly #store: Store;
  readonly #signer: AuditSigner;
  readonly #now: () => Date;
  #frontier: MerkleFrontier | undefined;
  #latest: Checkpoint | undefined;
  #publishing: Promise<Checkpoint | undefined> | undefined;

  constructor(store: Store, signer: AuditSigner, now: () => Date = () => new Date()) {
    this.#store = store;
    this.#signer = signer;
    this.#now = now;
  }

  get origin(): string {
    return this.#signer.origin;
  }

  /** Sequences one entry inside `tx`; call it last in the transaction so the lock is held briefly. */
  async appendInTx(tx: Queryable, event: AuditEvent): Promise<AuditReceipt> {
    const entry = canonicalJson(auditDocument(event, this.#now()));
    const hash = leafHash(utf8(entry));
    await tx.query('LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE');
    const [row] = await tx.query<{ next: string }>(
      'SELECT (coalesce(max(idx), -1) + 1)::int8 AS next FROM audit_entries',
    );
    const index = toSafeNumber(row?.next);
    await tx.query('INSERT INTO audit_entries (idx, leaf_hash, entry) VALUES ($1, $2, $3)', [
      String(index),
      hash,
      entry,
    ]);
    return { index, leafHash: hash };
  }

  /**
   * Sequences several entries inside `tx` under one lock, in the order given, with dense consecutive
   * indices (group commit: telemetry/write-group.ts). Call it last in the transaction, as appendInTx.
   */
  async appendManyInTx(tx: Queryable, events: readonly AuditEvent[]): Promise<AuditReceipt[]> {
    if (events.length === 0) return [];
    const time = this.#now();
    const entries = events.map((event) => canonicalJson(auditDocument(event, time)));
    const hashes = entries.map((entry) => leafHash(utf8(entry)));
    await tx.query('LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE');
    const [row] = await tx.query<{ next: string }>(
      'SELECT (coalesce(max(idx), -1) + 1)::int8 AS next FROM audit_entries',
    );
    const first = toSafeNumber(row?.next);
    await tx.query(
      `INSERT INTO audit_entries (idx, leaf_hash, entry)
       SELECT i, decode(h, 'hex'), e FROM unnest($1::int8[], $2::text[], $3::text[]) AS u(i, h, e)`,
      [entries.map((_, i) => String(first + i)), hashes.map((h) => toHex(h)), entries],
    );
    return hashes.map((hash, i) => ({ index: first + i, leafHash: hash }));
  }

  /** Appends one entry in a transaction of its own. */
  append(event: AuditEvent): Promise<AuditReceipt> {
    return this.#store.transaction((tx) => this.appendInTx(tx, event));
  }

  async size(): Promise<number> {
    const [row] = await this.#store.query<{ n: string }>(
      'SELECT (coalesce(max(idx), -1) + 1)::int8 AS n FROM audit_entries',
    );
    return toSafeNumber(row?.n);
  }

  latestCheckpoint(): Checkpoint | undefined {
    return this.#latest;
  }

  /**
   * Integrates every committed entry and, if the tree grew, signs and stores a new checkpoint.
   * Concurrent callers share one run.
   */
  publish(): Promise<Checkpoint | undefined> {
    this.#publishing ??= this.#publish().finally(() => {
      this.#publishing = undefined;
    });
    return this.#publishing;
  }

  async #publish(): Promise<Checkpoint | undefined> {
    const frontier = await this.#loadFrontier();
    const before = frontier.size;
    for (;;) {
      const rows = await this.#store.query<{ idx: string; leaf_hash: Uint8Array }>(
        'SELECT idx, leaf_hash FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2',
        [String(frontier.size), INTEGRATE_BATCH],
      );
      for (const row of rows) {
        if (toSafeNumber(row.idx) !== frontier.size)
          throw new Error(`audit log has a gap at index ${frontier.size}`);
        frontier.append(row.leaf_hash);
      }
      if (rows.length < INTEGRATE_BATCH) break;
    }
    if (frontier.size === before && this.#latest !== undefined) return this.#latest;
    if (frontier.size === before && before === 0) return undefined;
    const rootHash = frontier.root();
    const body = formatCheckpoint({ origin: this.#signer.origin, size: frontier.size, rootHash });
    const note = signNote(body, [{ name: this.#signer.origin, privateKey: this.#signer.privateKey }]);
    await this.#store.query(
      `INSERT INTO audit_checkpoints (tree_size, root_hash, frontier, note) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tree_size) DO NOTHING`,
      [String(frontier.size), rootHash, Buffer.concat(frontier.hashes()), note],
    );
    this.#latest = { size: frontier.size, rootHash, note };
    return this.#latest;
  }

  async #loadFrontier(): Promise<MerkleFrontier> {
    if (this.#frontier !== undefined) return this.#frontier;
    const [row] = await this.#store.query<{
      tree_size: string;
      root_hash: Uint8Array;
      frontier: Uint8Array;
      note: string;
    }>('SELECT tree_size, root_hash, frontier, note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1');
    if (row === undefined) {
      this.#frontier = new MerkleFrontier();
    } else {
      const size = toSafeNumber(row.tree_size);
      const hashes: Uint8Array[] = [];
      for (let i = 0; i < row.frontier.byteLength; i += 32) hashes.push(row.frontier.subarray(i, i + 32));
      const frontier = MerkleFrontier.restore(size, hashes);
      // The stored compact range is a cache: refuse to extend the log from one that does not produce
      // the root of the checkpoint stored beside it (it was altered; run `fleetgate audit verify`).
      if (toHex(frontier.root()) !== toHex(row.root_hash)) {
        throw new Error(`stored compact range at size ${size} does not match its checkpoint root`);
      }
      this.#frontier = frontier;
      this.#latest = { size, rootHash: row.root_hash, note: row.note };
    }
    return this.#frontier;
  }
}
