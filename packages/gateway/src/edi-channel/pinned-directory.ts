/**
 * Directories of the drop tree held open while the gateway works in them (docs/tendering.md "Transport",
 * "Who may write where"). Threat: a partner who can write in DROP/<partner>/ replaces one of its
 * directories (or DROP/<partner> itself) by a symbolic link, e.g. rejected/ → ../globex-tms/inbound, so
 * that a file refused as its own is written or moved into another partner's tree and processed as theirs;
 * or swaps a directory between the gateway's check and its use (TOCTOU).
 *
 * Each directory is opened with O_DIRECTORY | O_NOFOLLOW *relative to its already-opened parent*, its
 * fstat must be the lstat seen a moment before, and its real path must be exactly the expected one. On
 * Linux every later operation goes through `/proc/self/fd/<fd>/<name>`, which resolves through the open
 * descriptor, not through the path again (openat semantics): a swap after the check cannot redirect it.
 * Elsewhere (no /proc) the path is used, and `stillPinned` right before each write or rename narrows the
 * window; the deployment rule (only inbound/ is partner-writable) closes it.
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
} from 'node:fs';
import { join } from 'node:path';

/** Why a directory cannot be used; each is an `EDI_DROP_DIRECTORY_UNSAFE` refusal. */
export type PinProblem = 'missing' | 'symlink' | 'not-directory' | 'moved';

export interface PinnedDirectory {
  /** The expected absolute path (real, no symbolic link in it). */
  readonly path: string;
  readonly fd: number;
  /** A path for `name` inside this directory that resolves through the open descriptor where possible. */
  at(name: string): string;
  close(): void;
}

const FD_PATHS = process.platform === 'linux' && existsSync('/proc/self/fd');
const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

function pinned(path: string, fd: number): PinnedDirectory {
  let open = true;
  return {
    path,
    fd,
    at: (name) => (FD_PATHS ? `/proc/self/fd/${fd}/${name}` : join(path, name)),
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Where the descriptor really is: /proc's link (Linux) or the realpath of the expected path. */
function locationOf(fd: number, expected: string): string | undefined {
  try {
    return FD_PATHS ? readlinkSync(`/proc/self/fd/${fd}`) : realpathSync(expected);
  } catch {
    return undefined;
  }
}

/** Opens the (operator-configured, already real) root of the tree. */
export function pinRoot(realRoot: string): PinnedDirectory {
  const fd = openSync(realRoot, constants.O_RDONLY | constants.O_DIRECTORY);
  return pinned(realRoot, fd);
}

/**
 * Opens `parent/name` as a real directory, creating it first when asked (mkdir never follows a symbolic
 * link in its last component, and the parent is already pinned, so nothing is created through one).
 */
export function pinChild(
  parent: PinnedDirectory,
  name: string,
  create: boolean,
): PinnedDirectory | PinProblem {
  const at = parent.at(name);
  if (create) {
    try {
      mkdirSync(at, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  let seen: ReturnType<typeof lstatSync>;
  try {
    seen = lstatSync(at);
  } catch {
    return 'missing';
  }
  if (seen.isSymbolicLink()) return 'symlink';
  if (!seen.isDirectory()) return 'not-directory';
  let fd: number;
  try {
    fd = openSync(at, DIRECTORY_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Replaced between the lstat and the open.
    if (code === 'ELOOP' || code === 'ENOTDIR') return 'symlink';
    if (code === 'ENOENT') return 'missing';
    throw error;
  }
  const expected = join(parent.path, name);
  const st = fstatSync(fd);
  if (
    !st.isDirectory() ||
    st.dev !== seen.dev ||
    st.ino !== seen.ino ||
    locationOf(fd, expected) !== expected
  ) {
    closeSync(fd);
    return 'moved';
  }
  return pinned(expected, fd);
}

/**
 * Re-checks, right before a write or rename, that the path still names the open directory: no symbolic
 * link, same device and inode, same real path. undefined when it does.
 */
export function stillPinned(dir: PinnedDirectory): PinProblem | undefined {
  let seen: ReturnType<typeof lstatSync>;
  try {
    seen = lstatSync(dir.path);
  } catch {
    return 'missing';
  }
  if (seen.isSymbolicLink()) return 'symlink';
  if (!seen.isDirectory()) return 'not-directory';
  const st = fstatSync(dir.fd);
  if (st.dev !== seen.dev || st.ino !== seen.ino) return 'moved';
  let real: string;
  try {
    real = realpathSync(dir.path);
  } catch {
    return 'missing';
  }
  if (real !== dir.path || locationOf(dir.fd, dir.path) !== dir.path) return 'moved';
  return undefined;
}
