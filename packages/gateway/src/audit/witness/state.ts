/**
 * The witness's durable state (C2SP tlog-witness: "the witness MUST persist the new checkpoint before
 * responding", atomically with the check of the old size): per log origin, the latest checkpoint it
 * cosigned — size, root and the note as received.
 *
 * One JSON file per origin, `STATE/logs/<hex SHA-256(origin)>.json`, written atomically: a temporary
 * file is written and fsync'ed, renamed over the old one, and the directory fsync'ed, so a crash leaves
 * either the old state or the new one, never a torn or lost one. withLock() serializes every
 * read-check-write of one origin inside this process (two requests cannot both advance from the same
 * size: the race the spec describes); acquireProcessLock() keeps a second witness process off the same
 * state directory.
 *
 * Threat: a witness that forgets (state lost, rolled back from a backup) can be made to cosign a fork.
 * Losing the state directory means retiring the witness key (docs/audit.md "Witness").
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface WitnessLogState {
  origin: string;
  size: number;
  /** The 32-byte root hash of the cosigned checkpoint. */
  rootHash: Uint8Array;
  /** The checkpoint note as received (the log's signatures included), for the record. */
  note: string;
  /** When it was cosigned (ISO 8601). */
  cosignedAt: string;
}

interface StoredState {
  origin: string;
  size: number;
  rootHash: string;
  note: string;
  cosignedAt: string;
}

export class WitnessStateStore {
  readonly #dir: string;
  readonly #cache = new Map<string, WitnessLogState | null>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(stateDir: string) {
    this.#dir = join(stateDir, 'logs');
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
  }

  /** The latest cosigned checkpoint of `origin`, or null on first contact. */
  get(origin: string): WitnessLogState | null {
    const cached = this.#cache.get(origin);
    if (cached !== undefined) return cached;
    let state: WitnessLogState | null = null;
    try {
      const raw = JSON.parse(readFileSync(this.#path(origin), 'utf8')) as StoredState;
      const rootHash = new Uint8Array(Buffer.from(raw.rootHash, 'base64'));
      if (
        raw.origin !== origin ||
        !Number.isSafeInteger(raw.size) ||
        raw.size < 0 ||
        rootHash.byteLength !== 32
      ) {
        throw new Error(`witness state of ${origin} is corrupt`);
      }
      state = { origin, size: raw.size, rootHash, note: raw.note, cosignedAt: raw.cosignedAt };
    } catch (error) {
      // A missing file is first contact; anything else (corrupt, unreadable) must not look like one.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.#cache.set(origin, state);
    return state;
  }

  /** Persists durably (fsync) before returning; only then may the caller answer with a cosignature. */
  put(state: WitnessLogState): void {
    const stored: StoredState = {
      origin: state.origin,
      size: state.size,
      rootHash: Buffer.from(state.rootHash).toString('base64'),
      note: state.note,
      cosignedAt: state.cosignedAt,
    };
    const path = this.#path(state.origin);
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(stored)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dirFd = openSync(this.#dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.#cache.set(state.origin, state);
  }

  /** Runs `fn` with the origin's lock held: one read-check-write at a time per log. */
  withLock<T>(origin: string, fn: () => Promise<T> | T): Promise<T> {
    const previous = this.#locks.get(origin) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(origin, tail);
    void tail.then(() => {
      if (this.#locks.get(origin) === tail) this.#locks.delete(origin);
    });
    return run;
  }

  #path(origin: string): string {
    return join(this.#dir, `${createHash('sha256').update(origin, 'utf8').digest('hex')}.json`);
  }
}

/**
 * Takes STATE/witness.lock (O_EXCL) for this process; a lock left by a process that no longer runs is
 * taken over. Returns the release function. Two witnesses on one state directory would defeat the
 * per-origin lock above.
 */
export function acquireProcessLock(stateDir: string): () => void {
  const path = join(stateDir, 'witness.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0 && isRunning(pid)) {
        throw new Error(`another witness (pid ${pid}) holds ${path}`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not take ${path}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
