/**
 * pinned-directory.ts on the real file system: a symbolic link, a file or a dangling link is refused (and
 * nothing is created through it); a directory swapped for a symbolic link after it was opened is reported
 * by stillPinned, and on Linux a write through the pinned directory still lands in the directory that was
 * checked, never in the link's target (the TOCTOU the drop directory must survive).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type PinnedDirectory,
  pinChild,
  pinRoot,
  stillPinned,
} from '../../src/edi-channel/pinned-directory.ts';

const linux = process.platform === 'linux' && existsSync('/proc/self/fd');

describe('pinned directories', () => {
  let base: string;
  let root: PinnedDirectory;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'fleetgate-pin-'));
    mkdirSync(join(base, 'drop', 'a'), { recursive: true });
    mkdirSync(join(base, 'drop', 'b'), { recursive: true });
    root = pinRoot(join(base, 'drop'));
  });
  afterEach(() => {
    root.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('pins a real directory and creates a missing one', () => {
    const a = pinChild(root, 'a', false);
    expect(typeof a).toBe('object');
    const made = pinChild(root, 'c', true);
    expect(typeof made).toBe('object');
    expect(existsSync(join(base, 'drop', 'c'))).toBe(true);
    expect(stillPinned(made as PinnedDirectory)).toBeUndefined();
    (a as PinnedDirectory).close();
    (made as PinnedDirectory).close();
  });

  it('refuses a symbolic link, a dangling one without creating its target, a file and a missing one', () => {
    symlinkSync('b', join(base, 'drop', 'to-b'));
    expect(pinChild(root, 'to-b', true)).toBe('symlink');
    symlinkSync(join(base, 'elsewhere'), join(base, 'drop', 'dangling'));
    expect(pinChild(root, 'dangling', true)).toBe('symlink');
    expect(existsSync(join(base, 'elsewhere'))).toBe(false);
    writeFileSync(join(base, 'drop', 'file'), 'x');
    expect(pinChild(root, 'file', true)).toBe('not-directory');
    expect(pinChild(root, 'absent', false)).toBe('missing');
  });

  it('reports a directory swapped for a link after it was pinned', () => {
    const a = pinChild(root, 'a', false) as PinnedDirectory;
    renameSync(join(base, 'drop', 'a'), join(base, 'drop', 'a-old'));
    symlinkSync('b', join(base, 'drop', 'a'));
    expect(stillPinned(a)).toBe('symlink');
    if (linux) {
      // Through the descriptor: into the directory that was checked, not into b.
      writeFileSync(a.at('x.json'), '{}', { flag: 'wx' });
      expect(readdirSync(join(base, 'drop', 'a-old'))).toEqual(['x.json']);
      expect(readdirSync(join(base, 'drop', 'b'))).toEqual([]);
    }
    a.close();
  });

  it('reports a directory replaced by another real directory', () => {
    const a = pinChild(root, 'a', false) as PinnedDirectory;
    renameSync(join(base, 'drop', 'a'), join(base, 'drop', 'a-old'));
    mkdirSync(join(base, 'drop', 'a'));
    expect(stillPinned(a)).toBe('moved');
    a.close();
  });
});
