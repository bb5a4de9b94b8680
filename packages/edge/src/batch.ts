/**
 * Collects one vehicle's telemetry records into batches, flushed by size or by age; the caller
 * drives time (`now`, milliseconds since the epoch), so nothing here owns a timer.
 *
 * Why batches: signing and verifying cost per message, not per record (Ed25519 verify is ~12k/s a
 * core), so a record-per-message stream would make the gateway's signature check the bottleneck.
 * Threats handled here: a bad sample (NaN position, unknown driving state) is refused when it is
 * recorded, instead of poisoning a whole batch the gateway would refuse; and memory stays bounded
 * while the link is down (maxPending, then EDGE_BUFFER_FULL) instead of growing until the vehicle
 * computer runs out.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  DEFAULT_BATCH_LIMITS,
  ID_PATTERN,
  type TelemetryBatch,
  TelemetryBatchSchema,
  type TelemetryRecord,
  TelemetryRecordSchema,
  validateRecord,
} from '@fleetgate/protocol/telemetry';
import { EdgeError } from './errors.ts';

export interface BatchBuilderOptions {
  vehicleId: string;
  /** The load the vehicle carries; omit when it carries none. */
  loadId?: string;
  /** Records per batch; a batch is due once this many are pending. Default 500, at most 5,000. */
  maxRecords?: number;
  /** A batch is due once its oldest record has waited this long. Default 5,000 ms. */
  maxAgeMs?: number;
  /** Most records held while unsent; then record() throws EDGE_BUFFER_FULL. Default 10 × maxRecords. */
  maxPending?: number;
  /**
   * Reserves `count` record sequence numbers and returns the first. Default: an in-memory
   * sequence from 1; pass a DurableCounter's `take` to keep numbering across restarts.
   */
  takeSequence?: (count: number) => bigint;
}

interface Pending {
  readonly record: TelemetryRecord;
  readonly addedAt: number;
}

export class BatchBuilder {
  readonly vehicleId: string;
  readonly loadId: string;
  readonly maxRecords: number;
  readonly maxAgeMs: number;
  readonly maxPending: number;
  readonly #takeSequence: (count: number) => bigint;
  #pending: Pending[] = [];

  constructor(options: BatchBuilderOptions) {
    if (!ID_PATTERN.test(options.vehicleId)) throw invalid('vehicleId does not match the id pattern');
    if (options.loadId !== undefined && options.loadId !== '' && !ID_PATTERN.test(options.loadId)) {
      throw invalid('loadId does not match the id pattern');
    }
    this.vehicleId = options.vehicleId;
    this.loadId = options.loadId ?? '';
    this.maxRecords = positive(options.maxRecords ?? 500, 'maxRecords');
    if (this.maxRecords > DEFAULT_BATCH_LIMITS.maxRecords) {
      throw invalid(`maxRecords cannot exceed ${DEFAULT_BATCH_LIMITS.maxRecords}, the gateway's limit`);
    }
    this.maxAgeMs = positive(options.maxAgeMs ?? 5_000, 'maxAgeMs');
    this.maxPending = positive(options.maxPending ?? 10 * this.maxRecords, 'maxPending');
    if (this.maxPending < this.maxRecords) throw invalid('maxPending must be at least maxRecords');
    this.#takeSequence = options.takeSequence ?? inMemorySequence();
  }

  /** Records waiting for a batch. */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Queues a record. Throws ProtocolError if the record would be refused by the gateway, and
   * EdgeError EDGE_BUFFER_FULL if maxPending records are already waiting.
   */
  add(record: MessageInitShape<typeof TelemetryRecordSchema>, now: number): void {
    checkTime(now);
    validateRecord(record);
    const message = create(TelemetryRecordSchema, record);
    if (this.#pending.length >= this.maxPending) {
      throw new EdgeError('EDGE_BUFFER_FULL', `${this.maxPending} records are waiting to be sent`);
    }
    this.#pending.push({ record: message, addedAt: now });
  }

  /** True when a full batch is waiting, or the oldest record has waited maxAgeMs. */
  due(now: number): boolean {
    checkTime(now);
    const oldest = this.#pending[0];
    if (oldest === undefined) return false;
    return this.#pending.length >= this.maxRecords || now - oldest.addedAt >= this.maxAgeMs;
  }

  /** Takes the oldest records (up to maxRecords) as a batch stamped `now`, due or not. */
  take(now: number): TelemetryBatch | undefined {
    checkTime(now);
    if (this.#pending.length === 0) return undefined;
    const taken = this.#pending.splice(0, this.maxRecords);
    return create(TelemetryBatchSchema, {
      vehicleId: this.vehicleId,
      loadId: this.loadId,
      firstSequence: this.#takeSequence(taken.length),
      records: taken.map((p) => p.record),
      sentAtUnixMs: BigInt(now),
    });
  }

  /** take(now) if a batch is due, else undefined. */
  poll(now: number): TelemetryBatch | undefined {
    return this.due(now) ? this.take(now) : undefined;
  }
}

function inMemorySequence(): (count: number) => bigint {
  let next = 1n;
  return (count) => {
    const first = next;
    next += BigInt(count);
    return first;
  };
}

function checkTime(now: number): void {
  if (!Number.isSafeInteger(now) || now < 1) throw invalid('now must be a positive integer of milliseconds');
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(`${name} must be a positive integer`);
  return value;
}

function invalid(message: string): EdgeError {
  return new EdgeError('EDGE_INVALID_ARGUMENT', message);
}
