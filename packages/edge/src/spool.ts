/**
 * A bounded, durable, strictly ordered on-disk queue of signed envelopes: where a vehicle keeps its
 * telemetry while the gateway (or the MQTT broker) is unreachable, to send it — oldest first — once it
 * is reachable again, across process restarts and power loss (docs/mqtt.md "Offline spool").
 *
 * Threats and rules:
 *   - evidence lost in a crash: append() returns only after the record is fsynced; a record torn by a
 *     crash mid-write (only ever the last one, never acknowledged to the caller) is cut off at open;
 *   - evidence silently skipped: damage anywhere but the torn tail is EDGE_SPOOL_CORRUPT — the spool is
 *     refused, never repaired by dropping records;
 *   - order: records come out in the order they went in, and a record leaves only by shift(), after
 *     the gateway answered it; a crash between that answer and shift() sends it once more, which the
 *     gateway refuses as TELEMETRY_REPLAYED — the client counts that as delivered (client.ts);
 *   - counters: the spool stores envelopes already signed under their DurableCounter value and never
 *     signs anything, so no counter is ever reused;
 *   - unbounded growth: at most `maxBytes` on disk and `maxRecords` records. **When full, new envelopes
 *     are refused (EDGE_SPOOL_FULL) and the oldest are kept**: what is spooled is the earliest unsent
 *     evidence, and the refused envelopes' counters show up at the gateway as a recorded gap;
 *   - disclosure: files are 0600 in a 0700 folder (telemetry is positions of a truck).
 *
 * Files in `dir` (format in internal/spool-file.ts): spool.log, the records with a CRC each, and
 * spool.head, the first undelivered record, replaced atomically. Compaction (when the queue empties, or
 * when an append needs the room delivered records take) writes the undelivered records to a log of the
 * next generation and renames it over the old one; a head that names an older generation then means
 * "from the start". All I/O is synchronous, as in counter.ts. One live instance per directory.
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { EdgeError } from './errors.ts';
import {
  BODY_META_BYTES,
  corrupt,
  type Entry,
  encodeRecord,
  HEADER_BYTES,
  io,
  LOG,
  logHeader,
  MAX_SPOOLED_ENVELOPE_BYTES,
  type OpenState,
  openLog,
  RECORD_HEADER_BYTES,
  readExactly,
  replaceFile,
  TEMP_MARK,
  writeAll,
  writeHead,
} from './internal/spool-file.ts';

export { MAX_SPOOLED_ENVELOPE_BYTES } from './internal/spool-file.ts';

export interface SpooledEnvelope {
  /** The encoded, signed envelope, exactly as it will be sent. */
  envelope: Uint8Array;
  /** Its counter (the gateway's replay-window key). */
  counter: bigint;
  /** Telemetry records in its batch. */
  records: number;
}

export interface EnvelopeSpoolOptions {
  /** Largest spool.log, header and delivered-but-not-compacted records included. Default 64 MiB. */
  maxBytes?: number;
  /** Most undelivered records. Default 100,000. */
  maxRecords?: number;
}

export const DEFAULT_SPOOL_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SPOOL_MAX_RECORDS = 100_000;

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EdgeError('EDGE_INVALID_ARGUMENT', `${name} must be a positive integer`);
  }
  return value;
}

export class EnvelopeSpool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxRecords: number;
  #fd: number;
  #generation: bigint;
  #size: number;
  #entries: Entry[];
  #closed = false;

  private constructor(dir: string, options: Required<EnvelopeSpoolOptions>, state: OpenState) {
    this.dir = dir;
    this.maxBytes = options.maxBytes;
    this.maxRecords = options.maxRecords;
    this.#fd = state.fd;
    this.#generation = state.generation;
    this.#size = state.size;
    this.#entries = state.entries;
  }

  /** Opens the spool in `dir` (created 0700 if absent), cutting off a torn last record. */
  static open(dir: string, options: EnvelopeSpoolOptions = {}): EnvelopeSpool {
    const resolved = {
      maxBytes: positive(options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES, 'maxBytes'),
      maxRecords: positive(options.maxRecords ?? DEFAULT_SPOOL_MAX_RECORDS, 'maxRecords'),
    };
    if (resolved.maxBytes < HEADER_BYTES + RECORD_HEADER_BYTES + BODY_META_BYTES + 1) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'maxBytes is too small for one record');
    }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const name of readdirSync(dir)) if (name.includes(TEMP_MARK)) unlinkSync(join(dir, name));
    } catch (cause) {
      throw io('cannot prepare the spool directory', cause);
    }
    return new EnvelopeSpool(dir, resolved, openLog(dir));
  }

  /** Undelivered envelopes. */
  get length(): number {
    return this.#entries.length;
  }

  /** Bytes spool.log takes on disk (the quantity `maxBytes` bounds). */
  get bytes(): number {
    return this.#size;
  }

  /**
   * Appends an envelope after the others; durable when it returns. EDGE_SPOOL_FULL when it does not
   * fit (nothing is dropped to make room), EDGE_SPOOL_IO when it cannot be written.
   */
  append(item: SpooledEnvelope): void {
    this.#assertOpen();
    if (item.envelope.byteLength === 0 || item.envelope.byteLength > MAX_SPOOLED_ENVELOPE_BYTES) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'envelope size is outside the spool limits');
    }
    if (
      item.counter < 0n ||
      item.counter >= 2n ** 64n ||
      !Number.isInteger(item.records) ||
      item.records < 0
    ) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'counter or record count is out of range');
    }
    const record = encodeRecord(item);
    if (this.#entries.length >= this.maxRecords) {
      throw new EdgeError('EDGE_SPOOL_FULL', `the spool holds ${this.maxRecords} envelopes`);
    }
    if (this.#size + record.byteLength > this.maxBytes && this.#deliveredBytes() > 0) this.#compact();
    if (this.#size + record.byteLength > this.maxBytes) {
      throw new EdgeError('EDGE_SPOOL_FULL', `the spool would exceed ${this.maxBytes} bytes`);
    }
    const offset = this.#size;
    try {
      writeAll(this.#fd, record, offset);
      fsyncSync(this.#fd);
    } catch (cause) {
      try {
        ftruncateSync(this.#fd, offset); // never leave half a record behind a later one
      } catch {
        // The torn tail is cut at the next open.
      }
      throw io('cannot durably append to spool.log', cause);
    }
    this.#size += record.byteLength;
    this.#entries.push({
      offset,
      length: record.byteLength - RECORD_HEADER_BYTES,
      counter: item.counter,
      records: item.records,
    });
  }

  /** The oldest undelivered envelope, read back from disk (its CRC checked), or undefined. */
  peek(): SpooledEnvelope | undefined {
    this.#assertOpen();
    const entry = this.#entries[0];
    if (entry === undefined) return undefined;
    let body: Buffer;
    try {
      body = readExactly(this.#fd, entry.length, entry.offset + RECORD_HEADER_BYTES);
    } catch (cause) {
      if (cause instanceof EdgeError) throw cause;
      throw io('cannot read spool.log', cause);
    }
    const header = readExactly(this.#fd, RECORD_HEADER_BYTES, entry.offset);
    if (crc32(body) !== header.readUInt32BE(4)) throw corrupt('a spooled record changed on disk');
    return {
      envelope: new Uint8Array(body.subarray(BODY_META_BYTES)),
      counter: entry.counter,
      records: entry.records,
    };
  }

  /** Marks the oldest envelope delivered, durably; the log is compacted once nothing is left. */
  shift(): void {
    this.#assertOpen();
    const next = this.#entries[1];
    if (next !== undefined) {
      writeHead(this.dir, this.#generation, next.offset); // durable first, then forgotten in memory
      this.#entries.shift();
      return;
    }
    if (this.#entries.shift() !== undefined) this.#compact();
  }

  /** Closes the file; the spool is reopened from disk by open(). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  #assertOpen(): void {
    if (this.#closed) throw new EdgeError('EDGE_INVALID_ARGUMENT', 'the spool is closed');
  }

  #deliveredBytes(): number {
    return (this.#entries[0]?.offset ?? this.#size) - HEADER_BYTES;
  }

  /** Rewrites the undelivered records into a log of the next generation, then points the head at it. */
  #compact(): void {
    const generation = this.#generation + 1n;
    const start = this.#entries[0]?.offset ?? this.#size;
    const live = start < this.#size ? readExactly(this.#fd, this.#size - start, start) : Buffer.alloc(0);
    replaceFile(this.dir, LOG, Buffer.concat([logHeader(generation), live]));
    let fd: number;
    try {
      fd = openSync(join(this.dir, LOG), 'r+');
    } catch (cause) {
      throw io('cannot reopen spool.log', cause);
    }
    closeSync(this.#fd);
    this.#fd = fd;
    this.#generation = generation;
    const shift = start - HEADER_BYTES;
    this.#entries = this.#entries.map((e) => ({ ...e, offset: e.offset - shift }));
    this.#size = HEADER_BYTES + live.byteLength;
    writeHead(this.dir, generation, HEADER_BYTES);
  }
}
