/**
 * The one step of a CA rollover that changes which hierarchy issues: moving root/ and intermediate/ to
 * previous/ and the staged new hierarchy into their place (rename(2), atomic per folder), guarded by a
 * journal (pki/rollover.json) written before the first rename and removed after the last. Every step is
 * idempotent, so an interrupted swap is finished by running it again (`fleetgate ca rollover`,
 * `fleetgate init` and bootstrap do so first); loadIssuingCa waits for a swap in progress.
 *
 * Threat: a crash between renames leaving no issuing CA, or two hierarchies claiming the same folder.
 * The journal makes the state recognisable and the rules below make the finish unambiguous; a state
 * that fits none of them is PKI_STATE_CONFLICT for an operator to look at, never a guess.
 */
import { existsSync } from 'node:fs';
import { open, rename, rm, rmdir } from 'node:fs/promises';
import { PkiError } from '../errors.ts';
import { ensurePrivateDir, PRIVATE_FILE_MODE, writeFileAtomic } from '../internal/files.ts';
import { pkiRoot } from '../internal/layout.ts';
import {
  type CaRole,
  currentCaPaths,
  journalPath,
  previousCaPaths,
  previousDir,
  stagingCaPaths,
  stagingDir,
} from './layout.ts';

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes the journal that marks a swap in progress. */
export async function writeSwapJournal(dataDir: string, details: Record<string, string>): Promise<void> {
  const body = { v: 1, phase: 'swapping', ...details };
  await writeFileAtomic(journalPath(dataDir), `${JSON.stringify(body, null, 2)}\n`, PRIVATE_FILE_MODE);
}

/**
 * Finishes a swap whose journal exists: current → previous, staged → current, per role. Returns false
 * when there was no journal (nothing to do).
 */
export async function finishPendingSwap(dataDir: string): Promise<boolean> {
  if (!existsSync(journalPath(dataDir))) return false;
  await ensurePrivateDir(previousDir(dataDir));
  for (const role of ['root', 'intermediate'] as const satisfies readonly CaRole[]) {
    const current = currentCaPaths(dataDir, role).dir;
    const previous = previousCaPaths(dataDir, role).dir;
    const staged = stagingCaPaths(dataDir, role).dir;
    if (!existsSync(staged)) {
      // Already moved in, or never staged: only consistent if current and previous both exist.
      if (existsSync(current) && existsSync(previous)) continue;
      throw new PkiError(
        'PKI_STATE_CONFLICT',
        `interrupted rollover: nothing staged for ${role} (see docs/pki.md)`,
      );
    }
    if (existsSync(current)) {
      if (existsSync(previous)) {
        throw new PkiError(
          'PKI_STATE_CONFLICT',
          `interrupted rollover: ${role} exists as current, previous and staged`,
        );
      }
      await rename(current, previous);
    }
    await rename(staged, current);
  }
  await rmdir(stagingDir(dataDir)).catch(() => undefined);
  await syncDir(previousDir(dataDir));
  await syncDir(pkiRoot(dataDir));
  await rm(journalPath(dataDir));
  await syncDir(pkiRoot(dataDir));
  return true;
}
