/**
 * Where a replica is written (docs/audit.md "Replica"): a local directory, or an HTTPS URL that takes
 * PUT (WebDAV, or an object store that honours `If-None-Match: *`).
 *
 * Append-only by construction: every tile and entry bundle path names its content for good (a partial
 * tile's width is in its path), so they are written with putImmutable — created once, never rewritten;
 * the same bytes again are a no-op, other bytes are REPLICA_CONFLICT (someone else wrote there). Only
 * `checkpoint`, `replica.json` and `ALARM` are replaced, atomically (temp file + fsync + rename).
 * A directory write is durable (file and directory fsynced) before the call returns, so the caller can
 * publish the checkpoint only after its entries are on disk.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ReplicaError } from './errors.ts';
import { type HttpOptions, httpRequest } from './http.ts';

export interface ReplicaTarget {
  /** For messages. */
  readonly name: string;
  read(path: string): Promise<Uint8Array | undefined>;
  /** Creates `path` with `bytes`; identical bytes already there are accepted, others refused. */
  putImmutable(path: string, bytes: Uint8Array): Promise<void>;
  /** Replaces `path` atomically. */
  putMutable(path: string, bytes: Uint8Array): Promise<void>;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeTemp(path: string, bytes: Uint8Array): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

export function dirTarget(root: string): ReplicaTarget {
  const read = async (path: string): Promise<Uint8Array | undefined> => {
    try {
      return new Uint8Array(await readFile(join(root, path)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  return {
    name: root,
    read,
    async putImmutable(path, bytes) {
      const full = join(root, path);
      const existing = await read(path);
      if (existing !== undefined) {
        if (same(existing, bytes)) return;
        throw new ReplicaError('REPLICA_CONFLICT', `${path} exists with other bytes`);
      }
      const tmp = await writeTemp(full, bytes);
      try {
        await link(tmp, full); // fails with EEXIST: never replaces an existing object
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const now = await read(path);
        if (now === undefined || !same(now, bytes)) {
          throw new ReplicaError('REPLICA_CONFLICT', `${path} exists with other bytes`);
        }
      } finally {
        await unlink(tmp);
      }
      await fsyncDir(dirname(full));
    },
    async putMutable(path, bytes) {
      const full = join(root, path);
      const tmp = await writeTemp(full, bytes);
      await rename(tmp, full);
      await fsyncDir(dirname(full));
    },
  };
}

/** An HTTPS PUT target: `<base>/<path>`. */
export function urlTarget(base: string, http: HttpOptions): ReplicaTarget {
  const url = (path: string): string => `${base.replace(/\/+$/, '')}/${path}`;
  const read = async (path: string): Promise<Uint8Array | undefined> => {
    const res = await httpRequest(url(path), 'GET', http);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new ReplicaError('REPLICA_UPSTREAM', `GET ${path} answered ${res.status}`);
    return res.body;
  };
  const ok = (status: number): boolean => status === 200 || status === 201 || status === 204;
  return {
    name: base,
    read,
    async putImmutable(path, bytes) {
      const res = await httpRequest(url(path), 'PUT', {
        ...http,
        body: bytes,
        headers: { 'if-none-match': '*' },
      });
      if (ok(res.status)) return;
      if (res.status === 412) {
        const existing = await read(path);
        if (existing !== undefined && same(existing, bytes)) return;
        throw new ReplicaError('REPLICA_CONFLICT', `${path} exists with other bytes`);
      }
      throw new ReplicaError('REPLICA_UPSTREAM', `PUT ${path} answered ${res.status}`);
    },
    async putMutable(path, bytes) {
      const res = await httpRequest(url(path), 'PUT', { ...http, body: bytes });
      if (!ok(res.status)) throw new ReplicaError('REPLICA_UPSTREAM', `PUT ${path} answered ${res.status}`);
    },
  };
}
