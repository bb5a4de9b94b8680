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
 *
 * Credentials (review H10 #6): a URL target authenticates with a bearer token read from the environment
 * variable the caller names (`--to-token-env NAME`, as the SIEM export's https sink does), sent on every
 * request and never printed. Credentials in the URL itself (`user:password@`), a query string or a
 * fragment are refused with REPLICA_USAGE without echoing the URL, and the target's name in messages is
 * its origin and path only.
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

export interface UrlTargetOptions {
  /** Bearer token sent as `Authorization: Bearer …` on every request (from the environment). */
  bearerToken?: string;
}

/**
 * Parses a URL target's base: https, no userinfo, no query, no fragment. REPLICA_USAGE otherwise; the
 * message never repeats the URL (it may hold a password).
 */
export function parseTargetBase(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ReplicaError('REPLICA_USAGE', '--to is neither a directory nor a valid https:// URL');
  }
  if (url.protocol !== 'https:') throw new ReplicaError('REPLICA_USAGE', '--to URL must be https://');
  if (url.username !== '' || url.password !== '') {
    throw new ReplicaError(
      'REPLICA_USAGE',
      '--to must not carry credentials (user:password@); give a bearer token with --to-token-env NAME',
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ReplicaError('REPLICA_USAGE', '--to must not carry a query string or fragment');
  }
  return url;
}

/** An HTTPS PUT target: `<base>/<path>`. */
export function urlTarget(base: string, http: HttpOptions, options: UrlTargetOptions = {}): ReplicaTarget {
  const parsed = parseTargetBase(base);
  const root = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
  const url = (path: string): string => `${root}/${path}`;
  const auth: Record<string, string> =
    options.bearerToken === undefined ? {} : { authorization: `Bearer ${options.bearerToken}` };
  const read = async (path: string): Promise<Uint8Array | undefined> => {
    const res = await httpRequest(url(path), 'GET', { ...http, headers: auth });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new ReplicaError('REPLICA_UPSTREAM', `GET ${path} answered ${res.status}`);
    return res.body;
  };
  const ok = (status: number): boolean => status === 200 || status === 201 || status === 204;
  return {
    name: root,
    read,
    async putImmutable(path, bytes) {
      const res = await httpRequest(url(path), 'PUT', {
        ...http,
        body: bytes,
        headers: { ...auth, 'if-none-match': '*' },
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
      const res = await httpRequest(url(path), 'PUT', { ...http, body: bytes, headers: auth });
      if (!ok(res.status)) throw new ReplicaError('REPLICA_UPSTREAM', `PUT ${path} answered ${res.status}`);
    },
  };
}
