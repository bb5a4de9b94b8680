/**
 * Where a CA rollover keeps its state under DIR/pki (docs/pki.md "CA rollover"):
 *
 *   root/, intermediate/             the CURRENT hierarchy: the intermediate here issues (loadIssuingCa)
 *   previous/root/, previous/intermediate/
 *                                    the hierarchy being rolled away from, trusted during the overlap
 *   rollover-staging/                a new hierarchy being created (before it is swapped in)
 *   rollover.json                    the journal: present only while folders are being swapped, so an
 *                                    interrupted swap is finished by the next rollover, init or start
 *   retired/<time>/                  a previous hierarchy after `fleetgate ca rollover --complete`
 *
 * Keeping the current hierarchy at root/ and intermediate/ means every reader that predates rollover
 * (inventory sync, enrollment, revocation) follows the new issuing CA without a change.
 */
import { join } from 'node:path';
import { type CaPaths, caPaths, pkiRoot } from '../internal/layout.ts';

export type CaRole = 'root' | 'intermediate';

export function currentCaPaths(dataDir: string, which: CaRole): CaPaths {
  return caPaths(dataDir, which);
}

export function previousDir(dataDir: string): string {
  return join(pkiRoot(dataDir), 'previous');
}

export function previousCaPaths(dataDir: string, which: CaRole): CaPaths {
  const dir = join(previousDir(dataDir), which);
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

export function stagingDir(dataDir: string): string {
  return join(pkiRoot(dataDir), 'rollover-staging');
}

export function stagingCaPaths(dataDir: string, which: CaRole): CaPaths {
  const dir = join(stagingDir(dataDir), which);
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

export function journalPath(dataDir: string): string {
  return join(pkiRoot(dataDir), 'rollover.json');
}

export function retiredDir(dataDir: string, stamp: string): string {
  return join(pkiRoot(dataDir), 'retired', stamp);
}
