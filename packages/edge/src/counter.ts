/**
 * A durable monotonic counter that never hands out the same value twice, across crashes and
 * power loss: the envelope counter the gateway's replay window is keyed on.
 *
 * Threat: a counter that restarts from an in-memory value after a crash reuses numbers. The
 * gateway then refuses fresh telemetry as a replay (an outage that looks like an attack), or,
 * worse, two different payloads exist signed under one counter, and whichever an attacker holds
 * back can be replayed in place of the other.
 *
 * Design: values are reserved in blocks (default 1,000). Before the first value of a block is
 * handed out, the new high-water mark — the first value NOT reserved — is written to a temporary
 * file (mode 0600), fsynced, renamed over the counter file and the directory fsynced (POSIX
 * rename is atomic). After a restart, with or without close(), counting resumes at the mark: a
 * crash skips at most one block, and skipping is safe. close() writes back the exact next value
 * so a clean restart skips nothing. The file is synchronous I/O on purpose: one fsync per block,
 * and no interleaving between reserving and handing out within the event loop.
 *
 * One live instance per file: two processes sharing a file would hand out the same values.
 * A file that is unreadable or not in this format is refused (EDGE_COUNTER_CORRUPT), never reset.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EdgeError } from './errors.ts';

export const DEFAULT_COUNTER_BLOCK = 1_000;
/** One past the largest uint64: the mark after the last value has been reserved. */
const LIMIT = 2n ** 64n;
const FORMAT = /^fleetgate-counter v1\nnext=(0|[1-9][0-9]{0,19})\n$/;

export interface DurableCounterOptions {
  /** Values reserved per durable write. Default 1,000. */
  blockSize?: number;
}

export class DurableCounter {
  readonly path: string;
  readonly #blockSize: bigint;
  #next: bigint;
  /** The mark on disk: every value handed out is below it. */
  #reserved: bigint;
  #closed = false;

  private constructor(path: string, blockSize: bigint, mark: bigint) {
    this.path = path;
    this.#blockSize = blockSize;
    this.#next = mark;
    this.#reserved = mark;
  }

  /** Opens (or, if absent, creates on first use) the counter at `path`. The first value is 1. */
  static open(path: string, options: DurableCounterOptions = {}): DurableCounter {
    const blockSize = options.blockSize ?? DEFAULT_COUNTER_BLOCK;
    if (!Number.isSafeInteger(blockSize) || blockSize < 1) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'blockSize must be a positive integer');
    }
    removeStaleTemporaries(path);
    return new DurableCounter(path, BigInt(blockSize), readMark(path) ?? 1n);
  }

  /** The next value (the first is 1). */
  next(): bigint {
    return this.take(1);
  }

  /** Reserves `count` consecutive values and returns the first. */
  take(count: number): bigint {
    if (this.#closed) throw new EdgeError('EDGE_COUNTER_CLOSED', 'counter is closed');
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'count must be a positive integer');
    }
    const first = this.#next;
    const end = first + BigInt(count);
    if (end > LIMIT) throw new EdgeError('EDGE_COUNTER_EXHAUSTED', 'counter reached 2^64-1');
    if (end > this.#reserved) {
      // A new block starts at `first`: at least blockSize values, more if count asks for more.
      const wanted = first + (BigInt(count) > this.#blockSize ? BigInt(count) : this.#blockSize);
      const mark = wanted > LIMIT ? LIMIT : wanted;
      writeMark(this.path, mark); // durable before any value of the block leaves this function
      this.#reserved = mark;
    }
    this.#next = end;
    return first;
  }

  /** The high-water mark on disk: a restart after a crash resumes here. */
  get reserved(): bigint {
    return this.#reserved;
  }

  /**
   * Writes back the exact next value so a clean restart skips nothing, unless the file no longer
   * holds this instance's mark (another instance took over): then it is left as it is.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#next < this.#reserved && readMark(this.path) === this.#reserved) {
      writeMark(this.path, this.#next);
    }
  }
}

function readMark(path: string): bigint | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EdgeError('EDGE_COUNTER_IO', 'cannot read the counter file', { cause });
  }
  const match = FORMAT.exec(text);
  const mark = match?.[1] === undefined ? undefined : BigInt(match[1]);
  if (mark === undefined || mark < 1n || mark > LIMIT) {
    throw new EdgeError('EDGE_COUNTER_CORRUPT', 'the counter file is not in the expected format');
  }
  return mark;
}

const tempPrefix = (path: string): string => `${basename(path)}.tmp-`;

function writeMark(path: string, mark: bigint): void {
  const temp = join(dirname(path), `${tempPrefix(path)}${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, `fleetgate-counter v1\nnext=${mark}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (cause) {
    try {
      unlinkSync(temp);
    } catch {
      // Already renamed, or never created.
    }
    throw new EdgeError('EDGE_COUNTER_IO', 'cannot durably write the counter file', { cause });
  }
}

/** Temporaries left by a crash between create and rename are garbage: the mark is in the file. */
function removeStaleTemporaries(path: string): void {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch (cause) {
    throw new EdgeError('EDGE_COUNTER_IO', 'cannot read the counter directory', { cause });
  }
  for (const name of names) {
    if (!name.startsWith(tempPrefix(path))) continue;
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      // Another cleanup got there first.
    }
  }
}
