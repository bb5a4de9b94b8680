/**
 * One sink's export loop (docs/audit.md "SIEM export"): read committed audit entries after the sink's
 * durable cursor in index order, map each to OCSF (ocsf/map-entry.ts), hand the batch to the sink, and
 * save the cursor — feed_cursors consumer `siem:<sink>`, via readCursor/saveCursor of the tender
 * lifecycle feed — only after the sink acknowledged it.
 *
 * Delivery is at-least-once UP TO THE SINK'S ACKNOWLEDGEMENT: a crash between the acknowledgement and
 * saveCursor sends that one batch again after the restart, and nothing else (each event carries
 * `metadata.uid` = `<origin>/<index>` for the SIEM to deduplicate). The acknowledgement is only as strong
 * as the sink's: jsonl (fsync) and https (a 2xx) confirm receipt, but syslog over TLS cannot (RFC 5425
 * has no application acknowledgement), so for syslog-tls the batch in flight when the connection resets
 * is AT-MOST-ONCE — it may be lost, and is not sent again (syslog-tls-sink.ts, docs/audit.md "SIEM
 * export"). Committed entries, not only checkpointed ones, are exported: the sequencer
 * commits indices in order with no gap (log.ts), so once index N is visible nothing below N can still
 * appear, and the SIEM sees an event within one poll instead of one checkpoint later.
 *
 * Memory is bounded: one batch (at most `batchSize` entries and about MAX_BATCH_BYTES of JSON) per sink.
 * Each sink has its own loop, so a slow or dead destination only delays itself; nothing here is on the
 * path of a request. Failures back off exponentially (retryMinMs doubling to retryMaxMs, with jitter)
 * and retry the same batch.
 */
import type { Logger } from 'pino';
import type { Store } from '../../store/store.ts';
import { toSafeNumber } from '../../store/store.ts';
import { readCursor, saveCursor } from '../../tendering/lifecycle-feed.ts';
import { toOcsfEvent } from '../ocsf/map-entry.ts';
import type { ExportRecord, ExportSink } from './sink.ts';

export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export interface RunnerOptions {
  store: Store;
  sink: ExportSink;
  origin: string;
  batchSize: number;
  pollIntervalMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  now: () => Date;
  logger?: Pick<Logger, 'warn' | 'error' | 'info'>;
  /** Called after each acknowledged batch with its size, and with the lag after each read. */
  onExported?: (count: number) => void;
  onLag?: (entriesBehind: number) => void;
  onFailure?: () => void;
}

export function cursorName(sink: string): string {
  return `siem:${sink}`;
}

/** Reads the next batch after `cursor`: dense indices cursor+1, cursor+2, … only. */
export async function readBatch(
  store: Store,
  origin: string,
  cursor: number,
  batchSize: number,
): Promise<ExportRecord[]> {
  const rows = await store.query<{ idx: string; entry: string }>(
    'SELECT idx, entry FROM audit_entries WHERE idx > $1 ORDER BY idx LIMIT $2',
    [String(cursor), batchSize],
  );
  const out: ExportRecord[] = [];
  let bytes = 0;
  for (const row of rows) {
    const index = toSafeNumber(row.idx);
    if (index !== cursor + 1 + out.length) break; // never skip an index (see the module comment)
    const event = toOcsfEvent({ index, entry: row.entry }, origin);
    const json = JSON.stringify(event);
    bytes += json.length;
    if (out.length > 0 && bytes > MAX_BATCH_BYTES) break;
    out.push({ index, event, json });
  }
  return out;
}

export class ExportRunner {
  readonly #o: RunnerOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: RunnerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Runs one read-deliver-save step now; returns how many entries it exported. For tests and the CLI. */
  async step(signal: AbortSignal = this.#abort.signal): Promise<number> {
    const { store, sink, origin, batchSize } = this.#o;
    const consumer = cursorName(sink.name);
    const cursor = await readCursor(store, consumer);
    const batch = await readBatch(store, origin, cursor, batchSize);
    await this.#reportLag(cursor);
    if (batch.length === 0) return 0;
    await sink.deliver(batch, signal);
    const last = batch[batch.length - 1] as ExportRecord;
    await saveCursor(store, consumer, last.index, this.#o.now());
    this.#o.onExported?.(batch.length);
    await this.#reportLag(last.index);
    return batch.length;
  }

  /** Stops the loop: an in-flight delivery is aborted (its batch is sent again next start). */
  async stop(): Promise<void> {
    this.#abort.abort(new Error('export stopping'));
    this.#wake?.();
    await this.#loop;
    await this.#o.sink.close().catch(() => undefined);
  }

  async #reportLag(cursor: number): Promise<void> {
    if (this.#o.onLag === undefined) return;
    const [row] = await this.#o.store.query<{ n: string }>(
      'SELECT (coalesce(max(idx), -1) + 1)::int8 AS n FROM audit_entries',
    );
    this.#o.onLag(Math.max(0, toSafeNumber(row?.n) - (cursor + 1)));
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let backoff = this.#o.retryMinMs;
    while (!signal.aborted) {
      let wait: number;
      try {
        const n = await this.step(signal);
        backoff = this.#o.retryMinMs;
        wait = n > 0 ? 0 : this.#o.pollIntervalMs;
      } catch (error) {
        if (signal.aborted) break;
        this.#o.onFailure?.();
        this.#o.logger?.warn(
          { sink: this.#o.sink.name, err: describe(error), retryInMs: backoff },
          'SIEM export delivery failed; retrying',
        );
        wait = Math.round(backoff * (0.5 + Math.random() / 2));
        backoff = Math.min(backoff * 2, this.#o.retryMaxMs);
      }
      if (wait > 0) await this.#sleep(wait);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}

/** An error as a log field: its message and its cause's (no stack, no request objects). */
function describe(error: unknown): { message: string; cause?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause === undefined ? { message: error.message } : { message: error.message, cause };
}
