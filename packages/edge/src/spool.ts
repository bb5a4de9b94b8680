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
 * Layout of `dir`:
 *   spool.log   "FGSPOOL1" | u64 generation | records…; a record is
 *               u32 length | u32 CRC-32 of the body | body = u64 counter | u32 record count | envelope
 *   spool.head  "fleetgate-spool-head v1\ngeneration=G\noffset=N\n": the first undelivered record of the
 *               log of generation G, replaced atomically (temporary file, fsync, rename, fsync of dir).
 * Compaction (when the queue empties, or when an append needs the room delivered records take) writes
 * the undelivered records to a new log of generation G+1 and renames it over the old one; a head that
 * names an older generation then means "from the start". All I/O is synchronous, as in counter.ts.
 * One live instance per directory.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { EdgeError } from './errors.ts';

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
/** Largest envelope the spool takes: the gateway's own ceiling for telemetry.maxEnvelopeBytes. */
export const MAX_SPOOLED_ENVELOPE_BYTES = 16 * 1024 * 1024;

const MAGIC = Buffer.from('FGSPOOL1', 'ascii');
const HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 8;
const BODY_META_BYTES = 12;
const HEAD_FORMAT =
  /^fleetgate-spool-head v1\ngeneration=(0|[1-9][0-9]{0,19})\noffset=(0|[1-9][0-9]{0,15})\n$/;
const LOG = 'spool.log';
const HEAD = 'spool.head';
const TEMP_MARK = '.tmp-';

interface Entry {
  offset: number;
  /** Body length. */
  length: number;
  counter: bigint;
  records: number;
}

const io = (message: string, cause: unknown): EdgeError => new EdgeError('EDGE_SPOOL_IO', message, { cause });
const corrupt = (message: string): EdgeError => new EdgeError('EDGE_SPOOL_CORRUPT', message);

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `path` atomically and durably. */
function replaceFile(dir: string, name: string, data: Uint8Array): void {
  const temp = join(dir, `${name}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeAll(fd, data, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, join(dir, name));
    fsyncDir(dir);
  } catch (cause) {
    try {
      unlinkSync(temp);
    } catch {
      // Already renamed, or never created.
    }
    throw io(`cannot durably write ${name}`, cause);
  }
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let written = 0;
  while (written < data.byteLength) {
    written += writeSync(fd, data, written, data.byteLength - written, position + written);
  }
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buffer, read, length - read, position + read);
    if (n === 0) throw corrupt('spool.log ends inside a record');
    read += n;
  }
  return buffer;
}

function logHeader(generation: bigint): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeBigUInt64BE(generation, 8);
  return header;
}

function encodeRecord(item: SpooledEnvelope): Buffer {
  const body = Buffer.alloc(BODY_META_BYTES + item.envelope.byteLength);
  body.writeBigUInt64BE(item.counter, 0);
  body.writeUInt32BE(item.records, 8);
  body.set(item.envelope, BODY_META_BYTES);
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header.writeUInt32BE(body.byteLength, 0);
  header.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([header, body]);
}

function readHead(dir: string): { generation: bigint; offset: number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, HEAD), 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw io('cannot read spool.head', cause);
  }
  const match = HEAD_FORMAT.exec(text);
  if (match?.[1] === undefined || match[2] === undefined)
    throw corrupt('spool.head is not in the expected format');
  return { generation: BigInt(match[1]), offset: Number(match[2]) };
}

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

function writeHead(dir: string, generation: bigint, offset: number): void {
  replaceFile(
    dir,
    HEAD,
    Buffer.from(`fleetgate-spool-head v1\ngeneration=${generation}\noffset=${offset}\n`),
  );
}

interface OpenState {
  fd: number;
  generation: bigint;
  size: number;
  entries: Entry[];
}

function openLog(dir: string): OpenState {
  const head = readHead(dir);
  const path = join(dir, LOG);
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw io('cannot open spool.log', cause);
    // A fresh spool (or one whose log was removed): a new generation, so no old head applies to it.
    replaceFile(dir, LOG, logHeader((head?.generation ?? 0n) + 1n));
    fd = openSync(path, 'r+');
  }
  try {
    fchmodSync(fd, 0o600);
    return scan(fd, head);
  } catch (error) {
    closeSync(fd);
    if (error instanceof EdgeError) throw error;
    throw io('cannot read spool.log', error);
  }
}

/** True when every byte of the file from `offset` on is zero (a crash can leave a zero-filled tail). */
function zeroTail(fd: number, offset: number, size: number): boolean {
  for (let at = offset; at < size; at += 65_536) {
    const chunk = readExactly(fd, Math.min(65_536, size - at), at);
    if (chunk.some((byte) => byte !== 0)) return false;
  }
  return true;
}

/** Reads the record index from the head on, cutting off a torn last record. */
function scan(fd: number, head: { generation: bigint; offset: number } | undefined): OpenState {
  let size = fstatSync(fd).size;
  if (size < HEADER_BYTES) throw corrupt('spool.log is shorter than its header');
  const header = readExactly(fd, HEADER_BYTES, 0);
  if (!header.subarray(0, MAGIC.byteLength).equals(MAGIC)) throw corrupt('spool.log is not a spool');
  const generation = header.readBigUInt64BE(8);
  if (head !== undefined && head.generation > generation) throw corrupt('spool.head is newer than spool.log');
  // A head of an older generation: the compaction that made this log finished, but not the head write.
  let offset = head !== undefined && head.generation === generation ? head.offset : HEADER_BYTES;
  if (offset < HEADER_BYTES || offset > size) throw corrupt('spool.head points outside spool.log');
  const entries: Entry[] = [];
  const cutAt = (at: number): void => {
    ftruncateSync(fd, at);
    fsyncSync(fd);
    size = at;
  };
  while (offset < size) {
    if (size - offset < RECORD_HEADER_BYTES) {
      cutAt(offset); // a torn record header
      break;
    }
    const recordHeader = readExactly(fd, RECORD_HEADER_BYTES, offset);
    const length = recordHeader.readUInt32BE(0);
    const end = offset + RECORD_HEADER_BYTES + length;
    if (length < BODY_META_BYTES + 1 || length > BODY_META_BYTES + MAX_SPOOLED_ENVELOPE_BYTES) {
      if (!zeroTail(fd, offset, size)) throw corrupt('a spooled record has an impossible length');
      cutAt(offset);
      break;
    }
    if (end > size) {
      cutAt(offset); // a torn record body
      break;
    }
    const body = readExactly(fd, length, offset + RECORD_HEADER_BYTES);
    if (crc32(body) !== recordHeader.readUInt32BE(4)) {
      // Only the last record can be torn by a crash; anything before it is damage.
      if (end !== size) throw corrupt('a spooled record fails its checksum');
      cutAt(offset);
      break;
    }
    entries.push({ offset, length, counter: body.readBigUInt64BE(0), records: body.readUInt32BE(8) });
    offset = end;
  }
  return { fd, generation, size, entries };
}
