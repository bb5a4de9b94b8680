/**
 * Reads the CA hierarchy of a data directory as it stands — the current generation and, during a
 * rollover's overlap, the previous one — and builds the trust bundle (ca.pem) from it: every anchor and
 * intermediate that is trusted now, current first (RFC 5280 §6.1.1 (d): a relying party may hold
 * several trust anchors; OpenSSL picks the right one by issuer name and AKI/SKI).
 *
 * `loadCaHierarchy` also opens the keys, for work that must sign with every intermediate still trusted:
 * a CRL per intermediate during the overlap (a device certificate from the previous hierarchy is
 * revoked on the previous intermediate's CRL).
 *
 * Threat: a half-swapped hierarchy treated as complete (a pending journal is reported, never guessed
 * around); a previous generation that is not a hierarchy (its intermediate must be issued by its root).
 */
import type { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IssuingCa } from '../ca.ts';
import { PkiError } from '../errors.ts';
import { certificatePem, readCertificateIfExists } from '../internal/files.ts';
import { loadCaFolder } from '../keys/load-ca.ts';
import { type CaRole, currentCaPaths, journalPath, previousCaPaths } from './layout.ts';

export interface CaGeneration {
  readonly root: X509Certificate;
  readonly intermediate: X509Certificate;
}

export interface HierarchyState {
  readonly current: CaGeneration;
  /** Present during a rollover's overlap. */
  readonly previous: CaGeneration | undefined;
  /** True when a rollover was interrupted while swapping folders (run it again, or init, to finish). */
  readonly swapPending: boolean;
}

async function generation(paths: (which: CaRole) => { cert: string }): Promise<CaGeneration | undefined> {
  const root = await readCertificateIfExists(paths('root').cert);
  const intermediate = await readCertificateIfExists(paths('intermediate').cert);
  if (root === undefined && intermediate === undefined) return undefined;
  if (root === undefined || intermediate === undefined) {
    throw new PkiError(
      'PKI_STATE_CONFLICT',
      `a CA generation is missing its root or intermediate: ${paths('root').cert}`,
    );
  }
  if (!intermediate.checkIssued(root) || !intermediate.verify(root.publicKey)) {
    throw new PkiError(
      'PKI_STATE_CONFLICT',
      `intermediate was not issued by its root: ${paths('intermediate').cert}`,
    );
  }
  return { root, intermediate };
}

/** The hierarchy's certificates (no keys are opened); undefined before `fleetgate init`. */
export async function readHierarchy(dataDir: string): Promise<HierarchyState | undefined> {
  const current = await generation((which) => currentCaPaths(dataDir, which));
  if (current === undefined) return undefined;
  const previous = await generation((which) => previousCaPaths(dataDir, which));
  return { current, previous, swapPending: existsSync(journalPath(dataDir)) };
}

/** ca.pem: current root and intermediate, then the previous ones while they are trusted. */
export function trustBundlePem(state: Pick<HierarchyState, 'current' | 'previous'>): string {
  const generations = state.previous === undefined ? [state.current] : [state.current, state.previous];
  return generations.map((g) => certificatePem(g.root) + certificatePem(g.intermediate)).join('');
}

/** The intermediate that issued `leaf`: the current one, the previous one, or undefined. */
export function issuerOf(state: HierarchyState, leaf: X509Certificate): X509Certificate | undefined {
  for (const g of state.previous === undefined ? [state.current] : [state.current, state.previous]) {
    if (leaf.checkIssued(g.intermediate) && leaf.verify(g.intermediate.publicKey)) return g.intermediate;
  }
  return undefined;
}

export interface LoadedHierarchy {
  /** The issuing intermediate (what loadIssuingCa returns). */
  readonly issuing: IssuingCa;
  /** The previous intermediate during an overlap: it still signs CRLs for its certificates. */
  readonly previous: IssuingCa | undefined;
}

/** Opens the issuing and (during an overlap) the previous intermediate, keys included. */
export async function loadCaHierarchy(dataDir: string): Promise<LoadedHierarchy> {
  const context = { dataDir };
  const issuing = await loadCaFolder(currentCaPaths(dataDir, 'intermediate').dir, context);
  if (issuing === undefined) throw new PkiError('PKI_CA_UNAVAILABLE', 'no issuing CA (run fleetgate init)');
  const previousPaths = previousCaPaths(dataDir, 'intermediate');
  const previous = existsSync(previousPaths.cert)
    ? await loadCaFolder(previousPaths.dir, context)
    : undefined;
  return { issuing, previous };
}
