/**
 * The watched drop directory for batch partners (issue 6 §6; docs/tendering.md "Transport"):
 *
 *   DROP/<partnerId>/inbound/*.edi     files the partner puts (best: inbound/.<name>.part, renamed in)
 *   DROP/<partnerId>/processed/        accepted (or already received) files, each with <name>.result.json
 *   DROP/<partnerId>/rejected/         refused files, each with <name>.result.json (coded)
 *   DROP/<partnerId>/outbound/         what we send: <ISA13>-<997|990|214>.edi, written atomically
 *
 * Only directories of configured partners with an EDI identity are watched; the partner IS the directory
 * (and ISA06 must still match it). A file is taken once its size and mtime have not changed for one poll
 * interval (a writer still appending is left alone). fs.watch wakes the scan early; a periodic scan is the
 * backstop (fs.watch drops events).
 *
 * Threat: the partner can write in its own tree (at least inbound/). A symbolic link or a swapped
 * directory must never make the gateway read another partner's files as this partner's, or write or move
 * a file outside this partner's tree (rejected/ → ../globex-tms/inbound would turn a file refused as
 * acme's into globex's tender). So (pinned-directory.ts): every scan opens DROP/<id> and its four
 * directories with O_NOFOLLOW relative to the opened parent and checks their real paths, works through the
 * open descriptors, never creates a directory through a symbolic link, and re-checks each directory right
 * before every write and rename. A tree that fails is refused (`EDI_DROP_DIRECTORY_UNSAFE`, audited once
 * per problem) and left alone until it is fixed. Files are opened with O_NOFOLLOW and read from the
 * descriptor (fstat: a regular file, the inode that settled, at most maxFileBytes + 1 bytes read); a
 * symbolic link or special file is refused, audited, and moved (the link itself) to rejected/.
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
import type { Logger } from 'pino';
import { DEFAULT_EDI_LIMITS } from '../edi/limits.ts';
import { type PinnedDirectory, type PinProblem, pinChild, pinRoot, stillPinned } from './pinned-directory.ts';
import { receiveDropFile } from './receive-drop-file.ts';
import type { ReceiveDeps } from './receive-interchange.ts';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.edi$/i;
const SUBDIRS = ['inbound', 'processed', 'rejected', 'outbound'] as const;
type Subdir = (typeof SUBDIRS)[number];

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
  since: number;
}

/** A partner's tree, every directory open and checked for this scan or export. */
interface Tree {
  id: string;
  partner: PinnedDirectory;
  dirs: Record<Subdir, PinnedDirectory>;
}

export interface DropDirectoryDeps extends ReceiveDeps {
  root: string;
  settleMs: number;
  logger: Logger;
}

/** One message to write to a partner's outbound/. */
export interface OutboundFile {
  partnerId: string;
  name: string;
  body: string;
}

/** Writes `data` to `name` in `dir` atomically: a new temporary file in the same directory, then a rename. */
export function writeAtomically(dir: PinnedDirectory, name: string, data: string): void {
  const tmp = dir.at(`.${name}.${process.pid}.${Date.now()}.tmp`);
  // wx: O_CREAT | O_EXCL, which never follows a symbolic link planted under the temporary name.
  writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, dir.at(name));
}

/** The partners whose directories are watched: configured, with an EDI identity. */
export function dropPartners(deps: Pick<ReceiveDeps, 'settings'>): string[] {
  return deps.settings.partners.filter((p) => p.edi !== undefined).map((p) => p.id);
}

function closeTree(tree: Tree): void {
  for (const sub of SUBDIRS) tree.dirs[sub].close();
  tree.partner.close();
}

/** Pins DROP/<id> and its four directories, creating missing ones; the first problem otherwise. */
function pinTree(root: PinnedDirectory, id: string): Tree | { directory: string; problem: PinProblem } {
  const partner = pinChild(root, id, true);
  if (typeof partner === 'string') return { directory: id, problem: partner };
  const dirs: Partial<Record<Subdir, PinnedDirectory>> = {};
  for (const sub of SUBDIRS) {
    const dir = pinChild(partner, sub, true);
    if (typeof dir === 'string') {
      for (const open of Object.values(dirs)) open.close();
      partner.close();
      return { directory: `${id}/${sub}`, problem: dir };
    }
    dirs[sub] = dir;
  }
  return { id, partner, dirs: dirs as Record<Subdir, PinnedDirectory> };
}

export class DropDirectory {
  readonly #deps: DropDirectoryDeps;
  readonly #seen = new Map<string, Seen>();
  readonly #watchers: FSWatcher[] = [];
  /** The unsafe-tree problem last audited per partner (audited once, until the tree is fine again). */
  readonly #reported = new Map<string, string>();
  #root = '';

  constructor(deps: DropDirectoryDeps) {
    this.#deps = deps;
  }

  /** Creates the partners' directories and starts watching; `wake` runs a scan soon. */
  start(wake: () => void): void {
    // The root is the operator's (configuration): created as configured, then used by its real path.
    mkdirSync(this.#deps.root, { recursive: true, mode: 0o700 });
    this.#root = realpathSync(this.#deps.root);
    const root = pinRoot(this.#root);
    try {
      for (const id of dropPartners(this.#deps)) {
        const tree = pinTree(root, id);
        if (!('partner' in tree)) {
          // Refused and audited by the first scan.
          this.#deps.logger.warn({ partner: id, ...tree }, 'EDI drop directory unsafe; not watched');
          continue;
        }
        const inbound = tree.dirs.inbound.path;
        closeTree(tree);
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
    } finally {
      root.close();
    }
  }

  stop(): void {
    for (const w of this.#watchers.splice(0)) w.close();
  }

  /** One pass over every partner's inbound directory; returns the files handled. */
  async scan(): Promise<number> {
    let handled = 0;
    const root = pinRoot(this.#root);
    try {
      for (const id of dropPartners(this.#deps)) {
        const tree = await this.#openTree(root, id);
        if (tree === undefined) continue;
        try {
          let names: string[];
          try {
            names = readdirSync(tree.dirs.inbound.at('.'));
          } catch {
            continue;
          }
          for (const name of names.sort()) {
            if (!FILE_NAME.test(name)) continue;
            try {
              if (await this.#consider(tree, name)) handled += 1;
            } catch (error) {
              // Left in place (the store may be unavailable): the next scan tries again.
              this.#deps.logger.error({ err: error, partner: id }, 'EDI drop file not handled');
            }
          }
        } finally {
          closeTree(tree);
        }
      }
    } finally {
      root.close();
    }
    return handled;
  }

  /**
   * Writes outbox messages to their partners' outbound/ directories; returns the indexes written. A
   * partner whose tree is unsafe gets nothing (refused and audited); its messages stay in the outbox.
   */
  async writeOutbound(files: readonly OutboundFile[]): Promise<Set<number>> {
    const written = new Set<number>();
    const allowed = new Set(dropPartners(this.#deps));
    const trees = new Map<string, Tree | undefined>();
    const root = pinRoot(this.#root);
    try {
      for (const [i, file] of files.entries()) {
        if (!allowed.has(file.partnerId) || !FILE_NAME.test(file.name)) continue;
        if (!trees.has(file.partnerId)) trees.set(file.partnerId, await this.#openTree(root, file.partnerId));
        const tree = trees.get(file.partnerId);
        if (tree === undefined) continue;
        if (!(await this.#stillInPlace(tree, ['outbound']))) {
          closeTree(tree);
          trees.set(file.partnerId, undefined);
          continue;
        }
        // Same name for the same message: a crash before the mark rewrites the same file.
        writeAtomically(tree.dirs.outbound, file.name, file.body);
        written.add(i);
      }
    } finally {
      for (const tree of trees.values()) if (tree !== undefined) closeTree(tree);
      root.close();
    }
    return written;
  }

  /** The partner's pinned tree, or undefined after refusing it (audited once per problem). */
  async #openTree(root: PinnedDirectory, id: string): Promise<Tree | undefined> {
    const tree = pinTree(root, id);
    if ('partner' in tree) {
      this.#reported.delete(id);
      return tree;
    }
    await this.#unsafe(id, tree.directory, tree.problem);
    return undefined;
  }

  /** Right before a write or rename: DROP/<id> and `subs` still the directories pinned; else refused. */
  async #stillInPlace(tree: Tree, subs: readonly Subdir[]): Promise<boolean> {
    const partner = stillPinned(tree.partner);
    if (partner !== undefined) {
      await this.#unsafe(tree.id, tree.id, partner);
      return false;
    }
    for (const sub of subs) {
      const problem = stillPinned(tree.dirs[sub]);
      if (problem !== undefined) {
        await this.#unsafe(tree.id, `${tree.id}/${sub}`, problem);
        return false;
      }
    }
    return true;
  }

  async #unsafe(id: string, directory: string, problem: PinProblem): Promise<void> {
    const key = `${directory}:${problem}`;
    if (this.#reported.get(id) === key) return;
    this.#deps.logger.warn({ partner: id, directory, problem }, 'EDI drop directory unsafe; partner skipped');
    await this.#deps.audit.append({
      class: 'edi.interchange.refused',
      actor: { kind: 'partner', id },
      subject: { kind: 'edi-drop', id },
      outcome: 'rejected',
      reasons: ['EDI_DROP_DIRECTORY_UNSAFE'],
      details: { source: 'drop', directory, problem },
    });
    this.#reported.set(id, key);
  }

  async #consider(tree: Tree, name: string): Promise<boolean> {
    const inbound = tree.dirs.inbound;
    const key = `${tree.id}/${name}`;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(inbound.at(name));
    } catch {
      this.#seen.delete(key);
      return false;
    }
    if (!st.isFile()) {
      this.#seen.delete(key);
      await this.#refuseFile(tree, name);
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
    const read = readRegularFile(inbound.at(name), DEFAULT_EDI_LIMITS.maxFileBytes + 1);
    if (read === undefined) {
      await this.#refuseFile(tree, name);
      return true;
    }
    // Replaced since it settled: not the file that was watched; the next scans look at it afresh.
    if (read.ino !== st.ino) return false;
    // Nothing is recorded for this partner unless its tree is still in place.
    if (!(await this.#stillInPlace(tree, ['inbound']))) return false;
    const outcome = await receiveDropFile(this.#deps, tree.id, read.bytes);
    await this.#finish(tree, name, outcome.where, outcome.result);
    return true;
  }

  /** A symbolic link or special file in inbound/: refused (audited) and moved aside, never followed. */
  async #refuseFile(tree: Tree, name: string): Promise<void> {
    await this.#deps.audit.append({
      class: 'edi.interchange.refused',
      actor: { kind: 'partner', id: tree.id },
      subject: { kind: 'edi-drop', id: tree.id },
      outcome: 'rejected',
      reasons: ['EDI_INTERCHANGE_INVALID'],
      details: { source: 'drop', file: name, why: 'not a regular file' },
    });
    await this.#finish(tree, name, 'rejected', {
      ok: false,
      code: 'EDI_INTERCHANGE_INVALID',
      detail: 'not a regular file (symbolic links and special files are refused)',
    });
  }

  async #finish(
    tree: Tree,
    name: string,
    where: 'processed' | 'rejected',
    result: Record<string, unknown>,
  ): Promise<void> {
    const dir = tree.dirs[where];
    const inbound = tree.dirs.inbound;
    if (!(await this.#stillInPlace(tree, ['inbound', where]))) return;
    let target = name;
    try {
      lstatSync(dir.at(target));
      target = `${Date.now()}-${name}`;
    } catch {
      // free
    }
    writeAtomically(dir, `${target}.result.json`, `${JSON.stringify(result, null, 2)}\n`);
    if (!(await this.#stillInPlace(tree, ['inbound', where]))) return;
    // rename moves a symbolic link itself, never its target.
    renameSync(inbound.at(name), dir.at(target));
    this.#deps.logger.info({ partner: tree.id, file: target, where }, 'EDI drop file handled');
  }
}

/**
 * Reads a regular file (never through a symbolic link: O_NOFOLLOW, then fstat on the descriptor) of at
 * most `max` bytes, with its inode; undefined when it is not one. O_NONBLOCK: a FIFO cannot block the open.
 */
function readRegularFile(path: string, max: number): { bytes: Buffer; ino: number } | undefined {
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
    return { bytes: buffer.subarray(0, off), ino: st.ino };
  } finally {
    closeSync(fd);
  }
}
