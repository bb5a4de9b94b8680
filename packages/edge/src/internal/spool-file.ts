/**
 * The on-disk format of the edge SDK's offline spool (spool.ts, which states the rules and threats):
 *
 *   spool.log   "FGSPOOL1" | u64 generation | records…; a record is
 *               u32 length | u32 CRC-32 of the body | body = u64 counter | u32 record count | envelope
 *   spool.head  "fleetgate-spool-head v1\ngeneration=G\noffset=N\n": the first undelivered record of the
 *               log of generation G, replaced atomically (temporary file, fsync, rename, fsync of dir).
 *
 * Reading is defensive: the log is trusted to be ours only as far as its magic, lengths and CRCs say; a
 * torn last record (a crash mid-append, possibly a zero-filled tail) is cut off, anything else that does
 * not check out is EDGE_SPOOL_CORRUPT. All I/O is synchronous.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { EdgeError } from '../errors.ts';

/** What one record carries besides the envelope (spool.ts SpooledEnvelope). */
export interface SpoolRecord {
  envelope: Uint8Array;
  counter: bigint;
  records: number;
}

/** Largest envelope the spool takes: the gateway's own ceiling for telemetry.maxEnvelopeBytes. */
export const MAX_SPOOLED_ENVELOPE_BYTES = 16 * 1024 * 1024;

const MAGIC = Buffer.from('FGSPOOL1', 'ascii');
export const HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
export const BODY_META_BYTES = 12;
const HEAD_FORMAT =
  /^fleetgate-spool-head v1\ngeneration=(0|[1-9][0-9]{0,19})\noffset=(0|[1-9][0-9]{0,15})\n$/;
export const LOG = 'spool.log';
const HEAD = 'spool.head';
export const TEMP_MARK = '.tmp-';

export interface Entry {
  offset: number;
  /** Body length. */
  length: number;
  counter: bigint;
  records: number;
}

export const io = (message: string, cause: unknown): EdgeError =>
  new EdgeError('EDGE_SPOOL_IO', message, { cause });
export const corrupt = (message: string): EdgeError => new EdgeError('EDGE_SPOOL_CORRUPT', message);

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `path` atomically and durably. */
export function replaceFile(dir: string, name: string, data: Uint8Array): void {
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

export function writeAll(fd: number, data: Uint8Array, position: number): void {
  let written = 0;
  while (written < data.byteLength) {
    written += writeSync(fd, data, written, data.byteLength - written, position + written);
  }
}

export function readExactly(fd: number, length: number, position: number): Buffer {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buffer, read, length - read, position + read);
    if (n === 0) throw corrupt('spool.log ends inside a record');
    read += n;
  }
  return buffer;
}

export function logHeader(generation: bigint): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeBigUInt64BE(generation, 8);
  return header;
}

export function encodeRecord(item: SpoolRecord): Buffer {
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

export function writeHead(dir: string, generation: bigint, offset: number): void {
  replaceFile(
    dir,
    HEAD,
    Buffer.from(`fleetgate-spool-head v1\ngeneration=${generation}\noffset=${offset}\n`),
  );
}

export interface OpenState {
  fd: number;
  generation: bigint;
  size: number;
  entries: Entry[];
}

export function openLog(dir: string): OpenState {
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
