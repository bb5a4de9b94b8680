/**
 * The tamper-evident audit log: an RFC 9162 Merkle tree over canonical JSON entries (docs/audit.md).
 *
 * Sequencing, integration and publishing are kept apart (tessera's model):
 *  - appendInTx() / appendManyInTx() *sequence*: inside the caller's transaction they take the next dense
 *    indices under a table lock held only for the tail of that transaction, so an entry exists exactly
 *    when the decision it records was committed, and indices commit in order with no gap, across gateway
 *    nodes (the lock is the single writer across nodes; docs/audit.md "Sequencer" says why a table lock
 *    and not an advisory lock).
 *  - append() sequences an entry that has no transaction of its own by *group sequencing*: concurrent
 *    calls queue, and one transaction at a time appends everything queued (up to `maxBatch`) under one
 *    lock and one commit. Each promise resolves once its entry is committed.
 *  - publish() *integrates* committed entries into the compact range and *publishes* a checkpoint
 *    (C2SP tlog-checkpoint in a C2SP signed note) signed by BOTH audit keys, Ed25519 and ML-DSA-65. It
 *    runs on a timer, at least every second while the log grows, and once more on shutdown. Just
 *    before signing, the integrator (./integrator.ts) writes the tiles the new range filled.
 *
 * Threats: unbounded queueing when the sequencer is saturated (memory exhaustion, requests piling up
 * behind a lock) — the queue and the number of transactions waiting for the lock are bounded, a
 * bounded `lock_timeout` caps the wait, and each answers SERVICE_UNAVAILABLE with Retry-After; a rewound
 * or gapped store — publish() refuses to sign over it (AUDIT_LOG_INCONSISTENT).
 */
import type { KeyObject } from 'node:crypto';
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { MerkleFrontier } from '@fleetgate/core/merkle/frontier';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { formatCheckpoint } from '@fleetgate/core/note/checkpoint';
import { signNote } from '@fleetgate/core/note/signed-note';
import { GatewayError } from '../errors/gateway-error.ts';
import { type Queryable, type Store, toSafeNumber } from '../store/store.ts';
import { canonicalJson } from './canonical-json.ts';
import { type AuditEvent, auditDocument } from './event.ts';
import { AuditIntegrator } from './integrator.ts';
import {
  type RedactionSignatures,
  type RedactionStatement,
  signRedactionStatement,
} from './redaction-format.ts';

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
  /** Ed25519. */
  privateKey: KeyObject;
  /** ML-DSA-65: every checkpoint carries both signatures (docs/audit.md "Checkpoints"). */
  mlDsaPrivateKey: KeyObject;
}

/** Sequencer limits (config `audit`; docs/audit.md "Back-pressure"). */
export interface AuditLogOptions {
  /** append() calls queued or in their group transaction before new ones are refused. */
  maxPendingAppends: number;
  /** Transactions of this process waiting for the sequencer lock before new ones are refused. */
  maxWaitingTransactions: number;
  /** Longest wait for the sequencer lock (PostgreSQL lock_timeout), in ms. */
  lockTimeoutMs: number;
  /** Entries appended in one group transaction. */
  maxBatch: number;
  /** Retry-After sent with SERVICE_UNAVAILABLE when saturated. */
  retryAfterSeconds: number;
}

export const DEFAULT_AUDIT_LOG_OPTIONS: AuditLogOptions = {
  maxPendingAppends: 50_000,
  maxWaitingTransactions: 512,
  lockTimeoutMs: 5_000,
  maxBatch: 2_000,
  retryAfterSeconds: 1,
};

/** An entry bundle (C2SP tlog-tiles) length-prefixes entries with a uint16: larger entries are refused. */
export const MAX_ENTRY_BYTES = 65_535;

const INTEGRATE_BATCH = 5_000;

interface Queued {
  entry: string;
  hash: Uint8Array;
  resolve: (receipt: AuditReceipt) => void;
  reject: (error: unknown) => void;
}

export class AuditLog {
  readonly #store: Store;
  readonly #signer: AuditSigner;
  readonly #now: () => Date;
  readonly #options: AuditLogOptions;
  #frontier: MerkleFrontier | undefined;
  readonly #integrator: AuditIntegrator;
  #latest: Checkpoint | undefined;
  #publishing: Promise<Checkpoint | undefined> | undefined;
  #queue: Queued[] = [];
  #inFlight = 0;
  #flushing = false;
  #waiting = 0;

  constructor(
    store: Store,
    signer: AuditSigner,
    now: () => Date = () => new Date(),
    options: Partial<AuditLogOptions> = {},
  ) {
    this.#store = store;
    this.#signer = signer;
    this.#now = now;
    this.#options = { ...DEFAULT_AUDIT_LOG_OPTIONS, ...options };
    this.#integrator = new AuditIntegrator(store);
  }

  get origin(): string {
    return this.#signer.origin;
  }

  /** Sequences one entry inside `tx`; call it last in the transaction so the lock is held briefly. */
  async appendInTx(tx: Queryable, event: AuditEvent): Promise<AuditReceipt> {
    const [receipt] = await this.appendManyInTx(tx, [event]);
    if (receipt === undefined) throw new Error('audit append returned no receipt');
    return receipt;
  }

  /**
   * Sequences several entries inside `tx` under one lock, in the order given, with dense consecutive
   * indices (group commit: telemetry/write-group.ts). Call it last in the transaction, as appendInTx.
   */
  async appendManyInTx(tx: Queryable, events: readonly AuditEvent[]): Promise<AuditReceipt[]> {
    if (events.length === 0) return [];
    const time = this.#now();
    const entries = events.map((event) => this.#entry(event, time));
    return this.#sequence(
      tx,
      entries,
      entries.map((entry) => leafHash(utf8(entry))),
    );
  }

  /**
   * Appends one entry outside any business transaction, by group sequencing (see the module comment).
   * Rejects with SERVICE_UNAVAILABLE (retryAfterSeconds) when `maxPendingAppends` are already pending.
   */
  append(event: AuditEvent): Promise<AuditReceipt> {
    if (this.#queue.length + this.#inFlight >= this.#options.maxPendingAppends) {
      return Promise.reject(this.#saturated('the audit sequencer queue is full'));
    }
    let entry: string;
    try {
      entry = this.#entry(event, this.#now());
    } catch (error) {
      return Promise.reject(error);
    }
    const hash = leafHash(utf8(entry));
    return new Promise<AuditReceipt>((resolve, reject) => {
      this.#queue.push({ entry, hash, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
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
   * Signs a redaction statement for this log's origin with both audit keys (./redaction-format.ts): the
   * proof, in an `audit.entry.redacted` record, that a redaction stub was made with the keys and not by
   * someone who can only write to the database. Only redaction statements: not a general signing oracle.
   */
  signRedaction(fields: Omit<RedactionStatement, 'origin'>): {
    statement: RedactionStatement;
    signatures: RedactionSignatures;
  } {
    const statement: RedactionStatement = { ...fields, origin: this.#signer.origin };
    return { statement, signatures: signRedactionStatement(statement, this.#signer) };
  }

  /**
   * Integrates every committed entry and, if the tree grew, signs (Ed25519 and ML-DSA-65) and stores a
   * new checkpoint. Concurrent callers share one run. Throws AUDIT_LOG_INCONSISTENT on a rewound or
   * gapped store, and never signs over one.
   */
  publish(): Promise<Checkpoint | undefined> {
    this.#publishing ??= this.#publish().finally(() => {
      this.#publishing = undefined;
    });
    return this.#publishing;
  }

  #entry(event: AuditEvent, time: Date): string {
    const entry = canonicalJson(auditDocument(event, time));
    if (Buffer.byteLength(entry, 'utf8') > MAX_ENTRY_BYTES) {
      throw new TypeError(`audit entry exceeds ${MAX_ENTRY_BYTES} bytes`);
    }
    return entry;
  }

  #saturated(detail: string, cause?: unknown): GatewayError {
    return new GatewayError('SERVICE_UNAVAILABLE', detail, {
      retryAfterSeconds: this.#options.retryAfterSeconds,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** The sequencer proper: bounded wait for the lock, next dense index, one multi-row insert. */
  async #sequence(
    tx: Queryable,
    entries: readonly string[],
    hashes: readonly Uint8Array[],
  ): Promise<AuditReceipt[]> {
    if (this.#waiting >= this.#options.maxWaitingTransactions) {
      throw this.#saturated('too many transactions are waiting for the audit sequencer');
    }
    this.#waiting += 1;
    let previousTimeout: string;
    try {
      const [setting] = await tx.query<{ prev: string }>(
        "SELECT current_setting('lock_timeout') AS prev, set_config('lock_timeout', $1, true) AS now",
        [`${this.#options.lockTimeoutMs}ms`],
      );
      previousTimeout = setting?.prev ?? '0';
      await tx.query('LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE');
    } catch (error) {
      // 55P03 lock_not_available: lock_timeout expired while another transaction held the lock.
      if ((error as { code?: unknown }).code === '55P03') {
        throw this.#saturated('the audit sequencer lock is busy', error);
      }
      throw error;
    } finally {
      this.#waiting -= 1;
    }
    // Restore the caller's lock_timeout in the same round trip that reads the next index.
    const [row] = await tx.query<{ next: string }>(
      `SELECT (coalesce(max(idx), -1) + 1)::int8 AS next, set_config('lock_timeout', $1, true) AS restored
       FROM audit_entries`,
      [previousTimeout],
    );
    const first = toSafeNumber(row?.next);
    if (entries.length === 1) {
      await tx.query('INSERT INTO audit_entries (idx, leaf_hash, entry) VALUES ($1, $2, $3)', [
        String(first),
        hashes[0] as Uint8Array,
        entries[0] as string,
      ]);
    } else {
      await tx.query(
        `INSERT INTO audit_entries (idx, leaf_hash, entry)
         SELECT i, decode(h, 'hex'), e FROM unnest($1::int8[], $2::text[], $3::text[]) AS u(i, h, e)`,
        [entries.map((_, i) => String(first + i)), hashes.map((h) => toHex(h)), [...entries]],
      );
    }
    return hashes.map((hash, i) => ({ index: first + i, leafHash: hash }));
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        // Yield to the event loop first: appends arriving from I/O join this batch, and an engine that
        // answers in microtasks (PGlite) cannot starve timers and sockets under a steady stream.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.#queue.splice(0, this.#options.maxBatch);
        this.#inFlight = batch.length;
        try {
          const receipts = await this.#store.transaction((tx) =>
            this.#sequence(
              tx,
              batch.map((q) => q.entry),
              batch.map((q) => q.hash),
            ),
          );
          batch.forEach((q, i) => {
            q.resolve(receipts[i] as AuditReceipt);
          });
        } catch (error) {
          for (const q of batch) q.reject(error);
        } finally {
          this.#inFlight = 0;
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #publish(): Promise<Checkpoint | undefined> {
    const frontier = await this.#loadFrontier();
    const before = frontier.size;
    // A rewound store (entries deleted at the tail) would let the sequencer reuse signed indices.
    const stored = await this.size();
    if (stored < before) {
      throw new GatewayError(
        'AUDIT_LOG_INCONSISTENT',
        `log rewound: the last checkpoint covers ${before} entries, the store holds ${stored}`,
      );
    }
    for (;;) {
      const rows = await this.#store.query<{ idx: string; leaf_hash: Uint8Array }>(
        'SELECT idx, leaf_hash FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2',
        [String(frontier.size), INTEGRATE_BATCH],
      );
      for (const row of rows) {
        if (toSafeNumber(row.idx) !== frontier.size) {
          throw new GatewayError('AUDIT_LOG_INCONSISTENT', `audit log has a gap at index ${frontier.size}`);
        }
        frontier.append(row.leaf_hash);
      }
      const folded = rows.map((r) => r.leaf_hash);
      if (folded.length > 0) this.#integrator.observe(frontier.size - folded.length, folded);
      if (rows.length < INTEGRATE_BATCH) break;
    }
    // Full tiles of the sealed range into audit_tiles, in bounded rounds (docs/audit.md "Integrator").
    await this.#integrator.integrate(frontier.size);
    if (frontier.size === before && this.#latest !== undefined) return this.#latest;
    if (frontier.size === before && before === 0) return undefined;
    const rootHash = frontier.root();
    const body = formatCheckpoint({ origin: this.#signer.origin, size: frontier.size, rootHash });
    const note = signNote(body, [
      { name: this.#signer.origin, privateKey: this.#signer.privateKey },
      { name: this.#signer.origin, privateKey: this.#signer.mlDsaPrivateKey },
    ]);
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
        throw new GatewayError(
          'AUDIT_LOG_INCONSISTENT',
          `stored compact range at size ${size} does not match its checkpoint root`,
        );
      }
      this.#frontier = frontier;
      this.#latest = { size, rootHash: row.root_hash, note: row.note };
    }
    return this.#frontier;
  }
}
