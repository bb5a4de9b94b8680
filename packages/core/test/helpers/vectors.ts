/**
 * Locates and loads the outside-authority vectors (../shared/vectors, see its README). The folder is
 * FLEETGATE_VECTORS_DIR when set, else `<repo root>/../shared/vectors`. Suites skip visibly when it
 * is absent and fail when a loader finds zero cases: an empty vector suite proves nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreError } from '../../src/errors.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export function vectorsDir(): string {
  return process.env.FLEETGATE_VECTORS_DIR ?? path.resolve(REPO_ROOT, '../shared/vectors');
}

/** The vectors sub-folder, or undefined (after a console.warn saying why) when it is absent. */
export function vectorsFolder(sub: string): string | undefined {
  const dir = path.join(vectorsDir(), sub);
  if (existsSync(dir)) return dir;
  console.warn(
    `[vectors] skipping: ${dir} not found (set FLEETGATE_VECTORS_DIR, or check out ../shared/vectors beside the repo)`,
  );
  return undefined;
}

/** Every *.json file under `dir`, recursively, sorted, as paths relative to `dir`. */
export function jsonFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const child = path.join(rel, name);
      if (statSync(path.join(dir, child)).isDirectory()) walk(child);
      else if (name.endsWith('.json')) out.push(child);
    }
  };
  walk('');
  return out;
}

export function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Throws when a loader found nothing, so that the suite fails instead of passing empty. */
export function requireCases<T>(cases: readonly T[], what: string): readonly T[] {
  if (cases.length === 0) throw new Error(`loaded zero ${what} vector cases`);
  return cases;
}

/** Go's encoding of []byte in JSON: standard padded base64 (null for a nil slice). Strict. */
export function goBytes(value: unknown): Uint8Array {
  if (value === null) return new Uint8Array(0);
  if (typeof value !== 'string') throw new Error(`expected base64 string, got ${typeof value}`);
  const bytes = new Uint8Array(Buffer.from(value, 'base64'));
  if (Buffer.from(bytes).toString('base64') !== value)
    throw new Error(`non-canonical base64 in vector: ${value}`);
  return bytes;
}

export function goBytesList(value: unknown): Uint8Array[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new Error('expected an array of base64 strings');
  return value.map(goBytes);
}

/** Runs `fn` and returns the CoreError code it throws (failing the test on any other outcome). */
export function coreErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof CoreError) return error.code;
    throw error;
  }
  throw new Error('expected a CoreError, but nothing was thrown');
}
