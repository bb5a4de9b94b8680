/**
 * JSONL sink: one OCSF event per line in files under a directory, named
 * `<sink>-<YYYY-MM-DD>-<NNNNNN>.jsonl` (UTC day, sequence). A file is closed and the next one begun when
 * the next batch would take it past `maxFileBytes`, when the UTC day changes, and at every start: a
 * process never appends to a file an earlier process wrote, so a line cut short by a crash is always the
 * last line of its file (readers skip a final line without "\n"; its batch is written again, since the
 * cursor had not moved). deliver() resolves only after fsync of the file — and of the directory when the
 * file is new — so an acknowledged batch survives a power loss.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ExportDeliveryError, type ExportRecord, type ExportSink } from './sink.ts';

export interface JsonlSinkOptions {
  name: string;
  directory: string;
  maxFileBytes: number;
  now?: () => Date;
}

interface Current {
  handle: FileHandle;
  day: string;
  bytes: number;
}

export class JsonlSink implements ExportSink {
  readonly name: string;
  readonly #directory: string;
  readonly #maxFileBytes: number;
  readonly #now: () => Date;
  #current: Current | undefined;
  #sequence: number;

  constructor(options: JsonlSinkOptions) {
    this.name = options.name;
    this.#directory = options.directory;
    this.#maxFileBytes = options.maxFileBytes;
    this.#now = options.now ?? (() => new Date());
    mkdirSync(this.#directory, { recursive: true, mode: 0o750 });
    this.#sequence = this.#lastSequence();
  }

  async deliver(batch: readonly ExportRecord[], signal: AbortSignal): Promise<void> {
    if (batch.length === 0) return;
    signal.throwIfAborted();
    const text = `${batch.map((r) => r.json).join('\n')}\n`;
    const bytes = Buffer.byteLength(text, 'utf8');
    const day = this.#now().toISOString().slice(0, 10);
    try {
      let current = this.#current;
      if (
        current === undefined ||
        current.day !== day ||
        (current.bytes > 0 && current.bytes + bytes > this.#maxFileBytes)
      ) {
        await this.#closeCurrent();
        current = await this.#openNext(day);
      }
      await current.handle.appendFile(text, 'utf8');
      current.bytes += bytes;
      await current.handle.sync();
    } catch (error) {
      // A failed write leaves the file in an unknown state: begin a new one for the retry.
      await this.#closeCurrent().catch(() => undefined);
      throw new ExportDeliveryError(`jsonl sink ${this.name}: write failed`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.#closeCurrent();
  }

  async #closeCurrent(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.handle.close();
  }

  async #openNext(day: string): Promise<Current> {
    this.#sequence += 1;
    const file = join(
      this.#directory,
      `${this.name}-${day}-${String(this.#sequence).padStart(6, '0')}.jsonl`,
    );
    // 'wx': never reuse a name (a file another process wrote is left as it is).
    const handle = await open(file, 'wx', 0o640);
    await syncDirectory(this.#directory);
    this.#current = { handle, day, bytes: 0 };
    return this.#current;
  }

  /** The highest sequence number of this sink's files, any day: sequences never repeat. */
  #lastSequence(): number {
    const pattern = new RegExp(`^${this.name}-\\d{4}-\\d{2}-\\d{2}-(\\d{6,})\\.jsonl$`);
    let last = 0;
    for (const file of readdirSync(this.#directory)) {
      const match = pattern.exec(file);
      if (match?.[1] !== undefined) last = Math.max(last, Number(match[1]));
    }
    return last;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
