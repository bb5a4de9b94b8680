/**
 * The ingest queue: group commit for telemetry (docs/telemetry.md "Group commit"). Verified envelopes —
 * and the rejections to record — wait here at most `maxDelayMs` (or until `maxBatches` are waiting), then
 * one writer puts the whole group in ONE transaction (write-group.ts) and hands each caller its own
 * outcome. While a group is being written the next one gathers, so under load groups grow by themselves
 * and the cost of a commit (round trips, WAL flush, the audit lock) is shared by every batch in it.
 * On PostgreSQL two writers run at once on two connections (one on PGlite, which has one): while one group
 * waits for its commit the next is already being written. Two groups never both accept one counter — the
 * replay-window row lock makes the second wait for the first's commit and see its window.
 *
 * Back-pressure, not an unbounded queue (CONVENTIONS.md §13): beyond `maxQueuedRecords` waiting records a
 * batch is refused at once with 503 SERVICE_UNAVAILABLE and Retry-After; a rejection that cannot be queued
 * is counted (metric) but not stored.
 *
 * Failure isolation: when a group's transaction fails (a store error, a constraint a bug let through),
 * each of its items is retried alone, so one poisoned item fails only itself. An item that still fails is
 * answered INTERNAL_ERROR; nothing of it was stored. A saturated audit sequencer (SERVICE_UNAVAILABLE) is
 * passed to every item of the group as it is, with its Retry-After, without retrying.
 *
 * close() refuses new items and drains what is queued, for a shutdown that loses nothing accepted.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { IngestConnection } from './internal/connection.ts';
import type { TelemetryMetrics } from './metrics.ts';
import { type GroupItem, type GroupOutcome, writeGroup } from './write-group.ts';

export interface GroupCommitOptions {
  maxDelayMs: number;
  maxBatches: number;
  maxQueuedRecords: number;
  replayWindow: number;
}

interface Pending {
  item: GroupItem;
  records: number;
  resolve(outcome: GroupOutcome): void;
  reject(error: unknown): void;
}

export class IngestQueue {
  readonly #conn: IngestConnection;
  readonly #audit: AuditLog;
  readonly #options: GroupCommitOptions;
  readonly #metrics: TelemetryMetrics | undefined;
  readonly #logger: Logger | undefined;
  readonly #knownReplayRows = new Set<string>();
  #queue: Pending[] = [];
  #queuedRecords = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly #writers = new Set<Promise<void>>();
  #closed = false;

  constructor(
    conn: IngestConnection,
    audit: AuditLog,
    options: GroupCommitOptions,
    extras: { metrics?: TelemetryMetrics; logger?: Logger } = {},
  ) {
    this.#conn = conn;
    this.#audit = audit;
    this.#options = options;
    this.#metrics = extras.metrics;
    this.#logger = extras.logger;
  }

  /** Items waiting for a group (not counting the group being written). */
  get depth(): number {
    return this.#queue.length;
  }

  get recordWrites(): 'copy' | 'unnest' {
    return this.#conn.recordWrites;
  }

  /** Queues one item; resolves with its own outcome once its group committed. */
  submit(item: GroupItem): Promise<GroupOutcome> {
    if (this.#closed) {
      return Promise.reject(
        new GatewayError('SERVICE_UNAVAILABLE', 'shutting down', { retryAfterSeconds: 1 }),
      );
    }
    const records = item.kind === 'batch' ? item.verified.batch.records.length : 1;
    if (this.#queuedRecords + records > this.#options.maxQueuedRecords) {
      this.#metrics?.queueOverflow.inc({ item: item.kind });
      return Promise.reject(
        new GatewayError('SERVICE_UNAVAILABLE', 'telemetry ingest is saturated', { retryAfterSeconds: 1 }),
      );
    }
    return new Promise<GroupOutcome>((resolve, reject) => {
      this.#queue.push({ item, records, resolve, reject });
      this.#queuedRecords += records;
      this.#schedule();
    });
  }

  /** Refuses new items and resolves once everything queued is written. */
  async close(): Promise<void> {
    this.#closed = true;
    for (;;) {
      if (this.#writers.size > 0) await Promise.all(this.#writers);
      else if (this.#queue.length > 0) this.#startNow();
      else return;
    }
  }

  #schedule(): void {
    if (this.#writers.size >= this.#conn.writers) return; // a running writer takes this item next
    if (this.#queue.length >= this.#options.maxBatches) {
      this.#startNow();
    } else if (this.#timer === undefined) {
      const fire = () => {
        this.#timer = undefined;
        if (this.#writers.size < this.#conn.writers && this.#queue.length > 0) this.#start();
      };
      this.#timer =
        this.#options.maxDelayMs === 0 ? setImmediate(fire) : setTimeout(fire, this.#options.maxDelayMs);
    }
  }

  #startNow(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    this.#start();
  }

  #start(): void {
    const writer: Promise<void> = this.#drain().finally(() => {
      this.#writers.delete(writer);
      // Items submitted between the writer's last look at the queue and now have waited long enough.
      if (this.#queue.length > 0 && this.#writers.size < this.#conn.writers) this.#startNow();
    });
    this.#writers.add(writer);
  }

  /** Writes groups until the queue is empty: items that arrived during a write have waited long enough. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.#options.maxBatches);
      for (const p of group) this.#queuedRecords -= p.records;
      await this.#write(group);
    }
  }

  async #write(group: Pending[]): Promise<void> {
    const started = performance.now();
    try {
      const written = await this.#conn.transaction((tx) =>
        writeGroup(
          tx,
          group.map((p) => p.item),
          {
            audit: this.#audit,
            replayWindow: this.#options.replayWindow,
            knownReplayRows: this.#knownReplayRows,
          },
        ),
      );
      for (const v of written.vehicles) this.#knownReplayRows.add(v);
      this.#metrics?.groupItems.observe(group.length);
      this.#metrics?.groupSeconds.observe((performance.now() - started) / 1000);
      group.forEach((p, i) => {
        p.resolve(written.outcomes[i] as GroupOutcome);
      });
    } catch (error) {
      // A saturated store (the audit sequencer's lock wait, SERVICE_UNAVAILABLE) is no item's fault:
      // every caller gets the 503 with its Retry-After, and nothing is retried here.
      if (error instanceof GatewayError && error.code === 'SERVICE_UNAVAILABLE') {
        for (const p of group) p.reject(error);
        return;
      }
      if (group.length > 1) {
        this.#logger?.warn(
          { err: error, items: group.length },
          'telemetry group failed; writing its items one by one',
        );
        for (const p of group) await this.#write([p]);
        return;
      }
      this.#logger?.error({ err: error }, 'telemetry write failed');
      for (const p of group) p.reject(new GatewayError('INTERNAL_ERROR', undefined, { cause: error }));
    }
  }
}
