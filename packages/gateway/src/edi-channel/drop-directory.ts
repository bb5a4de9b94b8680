/**
 * The watched drop directory for batch partners (issue 6 §6; docs/tendering.md "Transport"):
 *
 *   DROP/<partnerId>/inbound/*.edi     files the partner puts (write elsewhere and rename in, or just write)
 *   DROP/<partnerId>/processed/        accepted (or already received) files, each with <name>.result.json
 *   DROP/<partnerId>/rejected/         refused files, each with <name>.result.json (coded)
 *   DROP/<partnerId>/outbound/         what we send: <ISA13>-<997|990|214>.edi, written atomically
 *
 * Only directories of configured partners with an EDI identity are watched; the partner IS the directory
 * (and ISA06 must still match it). A file is taken once its size and mtime have not changed for one poll
 * interval (a writer still appending is left alone). fs.watch wakes the scan early; a periodic scan is the
 * backstop (fs.watch drops events). Symlinks and anything but regular files are refused (opened with
 * O_NOFOLLOW, checked with fstat), and the partner's directories must be real directories inside DROP.
 * Crash safety: a file moves only after its transaction committed; a crash before the move processes it
 * again, and its duplicate ISA13 answers "already received", so it moves to processed/ then.
 */
import {
  closeSync,
  constants,
  type FSWatcher,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseClientPolicy } from '../auth/policy/policy.ts';
import { DEFAULT_EDI_LIMITS } from '../edi/limits.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { withOperator } from '../tendering/tenant-scope.ts';
import { EdiChannelError, type ReceiveDeps, receiveInterchange } from './receive-interchange.ts';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.edi$/i;
const SUBDIRS = ['inbound', 'processed', 'rejected', 'outbound'] as const;

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
  since: number;
}

export interface DropDirectoryDeps extends ReceiveDeps {
  root: string;
  settleMs: number;
  logger: Logger;
}

/** Writes `data` to `dir/name` atomically: a temporary file in the same directory, then a rename. */
export function writeAtomically(dir: string, name: string, data: string): void {
  const tmp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, join(dir, name));
}

/** The partners whose directories are watched: configured, with an EDI identity. */
export function dropPartners(deps: Pick<ReceiveDeps, 'settings'>): string[] {
  return deps.settings.partners.filter((p) => p.edi !== undefined).map((p) => p.id);
}

function isRealDirectory(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && !st.isSymbolicLink();
  } catch {
    return false;
  }
}

export class DropDirectory {
  readonly #deps: DropDirectoryDeps;
  readonly #seen = new Map<string, Seen>();
  readonly #watchers: FSWatcher[] = [];
  #root = '';

  constructor(deps: DropDirectoryDeps) {
    this.#deps = deps;
  }

  /** Creates the partners' directories and starts watching; `wake` runs a scan soon. */
  start(wake: () => void): void {
    mkdirSync(this.#deps.root, { recursive: true, mode: 0o700 });
    this.#root = realpathSync(this.#deps.root);
    for (const id of dropPartners(this.#deps)) {
      for (const sub of SUBDIRS) mkdirSync(join(this.#root, id, sub), { recursive: true, mode: 0o700 });
      const inbound = this.inboundOf(id);
      if (inbound === undefined) continue;
      try {
        const watcher = watch(inbound, { persistent: false }, () => wake());
        watcher.on('error', (error) =>
          this.#deps.logger.warn({ err: error, partner: id }, 'drop watch failed'),
        );
        this.#watchers.push(watcher);
      } catch (error) {
        this.#deps.logger.warn({ err: error, partner: id }, 'drop directory not watched; scanning only');
      }
    }
  }

  stop(): void {
    for (const w of this.#watchers.splice(0)) w.close();
  }

  /** The partner's inbound directory when it and its parents are real directories inside DROP. */
  inboundOf(partnerId: string): string | undefined {
    const dir = join(this.#root, partnerId);
    const inbound = join(dir, 'inbound');
    if (!isRealDirectory(dir) || !isRealDirectory(inbound)) return undefined;
    try {
      return realpathSync(inbound) === inbound ? inbound : undefined;
    } catch {
      return undefined;
    }
  }

  /** The partner's outbound directory, or undefined (not a real directory inside DROP). */
  outboundOf(partnerId: string): string | undefined {
    const dir = join(this.#root, partnerId, 'outbound');
    if (!isRealDirectory(join(this.#root, partnerId)) || !isRealDirectory(dir)) return undefined;
    return dir;
  }

  /** One pass over every partner's inbound directory; returns the files handled. */
  async scan(): Promise<number> {
    let handled = 0;
    for (const id of dropPartners(this.#deps)) {
      const inbound = this.inboundOf(id);
      if (inbound === undefined) continue;
      let names: string[];
      try {
        names = readdirSync(inbound);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (!FILE_NAME.test(name)) continue;
        try {
          if (await this.#consider(id, inbound, name)) handled += 1;
        } catch (error) {
          // Left in place (the store may be unavailable): the next scan tries again.
          this.#deps.logger.error({ err: error, partner: id }, 'EDI drop file not handled');
        }
      }
    }
    return handled;
  }

  async #consider(partnerId: string, inbound: string, name: string): Promise<boolean> {
    const path = join(inbound, name);
    const key = `${partnerId}/${name}`;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path);
    } catch {
      this.#seen.delete(key);
      return false;
    }
    if (!st.isFile()) {
      this.#seen.delete(key);
      this.#finish(partnerId, inbound, name, 'rejected', {
        ok: false,
        code: 'EDI_INTERCHANGE_INVALID',
        detail: 'not a regular file (symbolic links and special files are refused)',
      });
      return true;
    }
    const now = Date.now();
    const seen = this.#seen.get(key);
    if (seen === undefined || seen.size !== st.size || seen.mtimeMs !== st.mtimeMs || seen.ino !== st.ino) {
      this.#seen.set(key, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, since: now });
      return false;
    }
    if (now - seen.since < this.#deps.settleMs) return false;
    this.#seen.delete(key);
    const bytes = readRegularFile(path, DEFAULT_EDI_LIMITS.maxFileBytes + 1);
    if (bytes === undefined) {
      this.#finish(partnerId, inbound, name, 'rejected', {
        ok: false,
        code: 'EDI_INTERCHANGE_INVALID',
        detail: 'not a regular file (symbolic links and special files are refused)',
      });
      return true;
    }
    const outcome = await this.#receive(partnerId, bytes);
    this.#finish(partnerId, inbound, name, outcome.where, outcome.result);
    return true;
  }

  async #receive(
    partnerId: string,
    bytes: Buffer,
  ): Promise<{ where: 'processed' | 'rejected'; result: Record<string, unknown> }> {
    const deps = this.#deps;
    const partner = deps.settings.partners.find((p) => p.id === partnerId);
    // The partner acts as its OAuth client would: it must be registered, active and allowed to tender.
    const [client] = await withOperator(deps.store, (tx) =>
      tx.query<{ tenant_id: string; status: string; scopes: string[]; policy: string }>(
        'SELECT tenant_id, status, scopes, policy FROM oauth_clients WHERE client_id = $1',
        [partnerId],
      ),
    );
    if (
      partner === undefined ||
      client === undefined ||
      client.status !== 'active' ||
      client.tenant_id !== partner.tenant ||
      !client.scopes.includes('tenders:write')
    ) {
      await deps.audit.append({
        class: 'edi.interchange.refused',
        actor: { kind: 'partner', id: partnerId },
        subject: { kind: 'edi-drop', id: partnerId },
        outcome: 'rejected',
        reasons: ['EDI_PARTNER_NOT_CONFIGURED'],
        details: { source: 'drop', why: 'not an active client with tenders:write' },
      });
      return {
        where: 'rejected',
        result: {
          ok: false,
          code: 'EDI_PARTNER_NOT_CONFIGURED',
          detail: 'the partner is not an active client with the tenders:write scope',
        },
      };
    }
    try {
      const result = await receiveInterchange(
        deps,
        {
          id: partnerId,
          tenant: client.tenant_id,
          certSha256: '',
          policy: parseClientPolicy(client.policy),
          tokenId: 'drop-directory',
        },
        bytes,
        'drop',
      );
      return { where: 'processed', result: { ok: true, ...result } };
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      const coded = {
        ok: false,
        code: error.code,
        ...(error.detail === undefined ? {} : { detail: error.detail }),
        ...(error instanceof EdiChannelError && error.ediCode !== undefined
          ? { ediCode: error.ediCode }
          : {}),
        ...(error instanceof EdiChannelError && error.acknowledgment !== undefined
          ? { acknowledgment: error.acknowledgment }
          : {}),
      };
      // Already received: the file was processed before a crash or is a resend; nothing was created twice.
      if (error.code === 'EDI_INTERCHANGE_DUPLICATE') return { where: 'processed', result: coded };
      return { where: 'rejected', result: coded };
    }
  }

  #finish(
    partnerId: string,
    inbound: string,
    name: string,
    where: 'processed' | 'rejected',
    result: Record<string, unknown>,
  ): void {
    const dir = join(this.#root, partnerId, where);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let target = name;
    try {
      lstatSync(join(dir, target));
      target = `${Date.now()}-${name}`;
    } catch {
      // free
    }
    writeAtomically(dir, `${target}.result.json`, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(join(inbound, name), join(dir, target));
    this.#deps.logger.info({ partner: partnerId, file: target, where }, 'EDI drop file handled');
  }
}

/** Reads a regular file (never through a symlink) of at most `max` bytes; undefined when it is not one. */
function readRegularFile(path: string, max: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const size = Math.min(st.size, max);
    const buffer = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buffer, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buffer.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}
