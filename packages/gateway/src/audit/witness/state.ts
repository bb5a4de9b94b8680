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
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
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
 * The witness process lock: one witness per state directory (two would defeat the per-origin lock above).
 *
 * A lock is a file `STATE/witness.lock.<generation>` holding its process id, created complete and
 * exclusively (written to a private temporary file, then link(2)ed into place: link never replaces, so
 * nobody can read a half-written pid). The holder is the process of the HIGHEST generation. A process
 * takes the lock by creating the next generation above the highest one whose process no longer runs,
 * then re-reading the directory: if a higher generation appeared meanwhile, it lost and backs off.
 *
 * Why generations rather than one `witness.lock` that a newcomer removes when stale: with a single name,
 * two newcomers that both judged the same stale lock can race — A removes it and creates its own, then B
 * (still acting on the stale pid it read) removes A's fresh lock and creates another; both run. Here a
 * stale lock is never removed to be replaced: two takeovers of generation N both try to create N+1 and
 * only one link succeeds; the other sees N+1 held by a live process and refuses. Older generations are
 * deleted by the new holder only after it is sure of its own.
 *
 * A lock naming THIS process's pid but not taken by this process (a container restarted with pid 1
 * again) is stale. Returns the release function.
 */
export function acquireProcessLock(stateDir: string, hooks: LockHooks = {}): () => void {
  for (let attempt = 0; attempt < 8; attempt++) {
    const locks = listLocks(stateDir);
    const top = locks.at(-1);
    if (top !== undefined) {
      const pid = readPid(join(stateDir, top.name));
      if (pid === undefined) continue; // removed while we looked: look again
      if (isHolder(pid, join(stateDir, top.name))) {
        throw new Error(`another witness (pid ${pid}) holds ${join(stateDir, top.name)}`);
      }
    }
    hooks.beforeCreate?.();
    const generation = (top?.generation ?? 0) + 1;
    const path = join(stateDir, `${LOCK_PREFIX}${generation}`);
    if (!createExclusive(path)) continue; // another process took this generation: look again
    if (listLocks(stateDir).some((l) => l.generation > generation)) {
      rmSync(path, { force: true }); // a higher generation appeared: its process holds the lock
      continue;
    }
    HELD.add(path);
    for (const l of locks) if (l.generation < generation) rmSync(join(stateDir, l.name), { force: true });
    return () => {
      HELD.delete(path);
      rmSync(path, { force: true });
    };
  }
  throw new Error(`could not take the witness lock in ${stateDir}`);
}

/** Test seams: runs between judging the highest lock stale and creating the next generation. */
export interface LockHooks {
  beforeCreate?: () => void;
}

const LOCK_PREFIX = 'witness.lock.';
// `witness.lock` alone is the single lock of earlier versions: generation 0, honoured while its process runs.
const LOCK_NAME = /^witness\.lock(?:\.([1-9][0-9]{0,14}))?$/;
/** Lock files taken by this process (so a lock with our own pid is ours only if it is here). */
const HELD = new Set<string>();

function listLocks(stateDir: string): { name: string; generation: number }[] {
  return readdirSync(stateDir)
    .flatMap((name) => {
      const m = LOCK_NAME.exec(name);
      return m === null ? [] : [{ name, generation: m[1] === undefined ? 0 : Number(m[1]) }];
    })
    .sort((a, b) => a.generation - b.generation);
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : 0; // 0: unreadable content, never a holder
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function isHolder(pid: number, path: string): boolean {
  if (pid === 0) return false;
  if (pid === process.pid) return HELD.has(path);
  return isRunning(pid);
}

/** Creates `path` with our pid, complete, only if it does not exist (link(2) never replaces). */
function createExclusive(path: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
