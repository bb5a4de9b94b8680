/**
 * CA rollover, first phase (`fleetgate ca rollover`; docs/pki.md "CA rollover"): a new root and
 * intermediate are created — keys through the configured provider (config `keys`) — while the current
 * hierarchy stays valid. Then, in this order:
 *
 *   1. the new hierarchy is staged in pki/rollover-staging/ (nothing trusts or uses it yet);
 *   2. the journal is written and ca.pem becomes new root + intermediate followed by the old ones, so
 *      every gateway (which reloads ca.pem without a restart) trusts both anchors before any
 *      certificate from the new hierarchy exists outside this process;
 *   3. the folders are swapped (swap.ts): the new intermediate is now the one that issues, the old one
 *      lives in pki/previous/ and keeps chaining every certificate it issued.
 *
 * Nothing else changes: device and partner certificates keep working until they rotate (their
 * chain.pem still names their own issuer); the server certificate stays under the old hierarchy, so
 * relying parties that have only the old ca.pem keep connecting until `--complete` (complete.ts).
 * Generations are told apart by name ("fleetgate Root CA G2"), and OpenSSL chains by name and AKI/SKI.
 *
 * Threats: silently replacing a CA (a rollover never deletes a key: the old hierarchy is moved, later
 * retired, never overwritten); two overlapping rollovers (refused until the first is completed); a
 * crash half-way (staging is discarded if it was never swapped in; a journaled swap is finished).
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { KeysConfig } from '../../config/config.ts';
import { createIntermediateCa, createSelfSignedCa } from '../ca.ts';
import { PkiError } from '../errors.ts';
import {
  certificatePem,
  ensurePrivateDir,
  PUBLIC_FILE_MODE,
  writeFileAtomic,
  writeIfChanged,
} from '../internal/files.ts';
import { caBundlePath, pkiRoot } from '../internal/layout.ts';
import type { CertificateProfile } from '../internal/validity.ts';
import { createCaKey } from '../keys/ca-key.ts';
import { readTenantCaCertificates } from '../tenants/tenant-ca.ts';
import { readHierarchy, trustBundlePem } from './hierarchy.ts';
import { stagingCaPaths, stagingDir } from './layout.ts';
import { finishPendingSwap, writeSwapJournal } from './swap.ts';

export interface RolloverOptions {
  /** Custody of the new CA keys (config `keys`). */
  readonly keys: KeysConfig;
  /** Environment for passphrase and PIN variables; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Issuance time; default now. */
  readonly now?: Date;
  /** Validity of the new root and intermediate in days; defaults as for `fleetgate init`. */
  readonly validityDays?: Readonly<
    Partial<Record<Extract<CertificateProfile, 'root' | 'intermediate'>, number>>
  >;
}

export interface RolloverResult {
  /** The new hierarchy's generation number (2 for the first rollover). */
  readonly generation: number;
  /** SHA-256 thumbprints (hex) of the new root and intermediate, and of the roots now in the overlap. */
  readonly newRoot: string;
  readonly newIntermediate: string;
  readonly previousRoot: string;
  /** True when this call only finished a swap an earlier, interrupted call had started. */
  readonly resumed: boolean;
  readonly written: readonly string[];
}

const thumbprint = (der: Buffer): string => createHash('sha256').update(der).digest('hex');

/** "fleetgate Root CA" is generation 1; "fleetgate Root CA G7" is generation 7. */
export function generationOf(commonName: string | undefined): number {
  const match = /\bG(\d{1,4})$/.exec(commonName ?? '');
  return match === null ? 1 : Number(match[1]);
}

function commonNameOf(subject: string): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(subject)?.[1];
}

export async function beginRollover(dataDir: string, options: RolloverOptions): Promise<RolloverResult> {
  const context = { dataDir, ...(options.env === undefined ? {} : { env: options.env }) };
  if (await finishPendingSwap(dataDir)) {
    const state = await readHierarchy(dataDir);
    if (state?.previous === undefined)
      throw new PkiError('PKI_STATE_CONFLICT', 'resumed rollover left no overlap');
    return {
      generation: generationOf(commonNameOf(state.current.root.subject)),
      newRoot: thumbprint(state.current.root.raw),
      newIntermediate: thumbprint(state.current.intermediate.raw),
      previousRoot: thumbprint(state.previous.root.raw),
      resumed: true,
      written: [],
    };
  }
  const state = await readHierarchy(dataDir);
  if (state === undefined)
    throw new PkiError('PKI_CA_UNAVAILABLE', 'no CA hierarchy to roll over (run fleetgate init)');
  // Per-tenant issuing CAs hang off the current root and are not re-certified under a new one yet: a
  // rollover would drop them from the trust bundle and cut their tenants' vehicles off. Refuse, loudly,
  // rather than fail open or break a fleet (docs/pki.md "CA rollover").
  const tenantCas = await readTenantCaCertificates(dataDir);
  if (tenantCas.length > 0) {
    throw new PkiError(
      'PKI_STATE_CONFLICT',
      'this hierarchy has per-tenant issuing CAs, whose rollover is not supported yet: roll them over by hand (docs/pki.md)',
    );
  }
  if (state.previous !== undefined) {
    throw new PkiError(
      'PKI_STATE_CONFLICT',
      'a rollover is already in its overlap: finish it first (fleetgate ca rollover --complete)',
    );
  }
  // A staging folder without a journal was never swapped in: nothing trusts it, so it is discarded.
  await rm(stagingDir(dataDir), { recursive: true, force: true });

  const generation = generationOf(commonNameOf(state.current.root.subject)) + 1;
  const written: string[] = [];
  const timing = (profile: 'root' | 'intermediate') => ({
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.validityDays?.[profile] === undefined ? {} : { validityDays: options.validityDays[profile] }),
  });

  await ensurePrivateDir(stagingDir(dataDir));
  const rootPaths = stagingCaPaths(dataDir, 'root');
  await ensurePrivateDir(rootPaths.dir);
  const rootKey = await createCaKey(rootPaths.dir, options.keys, `fleetgate-root-g${generation}`, context);
  written.push(...rootKey.written);
  const intermediatePaths = stagingCaPaths(dataDir, 'intermediate');
  try {
    const root = await createSelfSignedCa({
      commonName: `fleetgate Root CA G${generation}`,
      pathLength: 1,
      privateKey: rootKey.signer,
      ...timing('root'),
    });
    await writeFileAtomic(rootPaths.cert, certificatePem(root.certificate), PUBLIC_FILE_MODE);
    written.push(rootPaths.cert);

    await ensurePrivateDir(intermediatePaths.dir);
    const intermediateKey = await createCaKey(
      intermediatePaths.dir,
      options.keys,
      `fleetgate-intermediate-g${generation}`,
      context,
    );
    written.push(...intermediateKey.written);
    try {
      const intermediate = await createIntermediateCa(root, {
        commonName: `fleetgate Intermediate CA G${generation}`,
        privateKey: intermediateKey.signer,
        ...timing('intermediate'),
      });
      await writeFileAtomic(
        intermediatePaths.cert,
        certificatePem(intermediate.certificate),
        PUBLIC_FILE_MODE,
      );
      written.push(intermediatePaths.cert);

      const next = { root: root.certificate, intermediate: intermediate.certificate };
      await writeSwapJournal(dataDir, {
        generation: String(generation),
        newRoot: thumbprint(next.root.raw),
        previousRoot: thumbprint(state.current.root.raw),
      });
      // Trust first: both anchors are in ca.pem before the new intermediate issues anything.
      const bundle = caBundlePath(dataDir);
      if (
        await writeIfChanged(
          bundle,
          trustBundlePem({ current: next, previous: state.current }),
          PUBLIC_FILE_MODE,
        )
      ) {
        written.push(bundle);
      }
      await finishPendingSwap(dataDir);
      const staging = stagingDir(dataDir);
      const moved = (path: string): string =>
        path.startsWith(`${staging}/`) ? join(pkiRoot(dataDir), relative(staging, path)) : path;
      return {
        generation,
        newRoot: thumbprint(next.root.raw),
        newIntermediate: thumbprint(next.intermediate.raw),
        previousRoot: thumbprint(state.current.root.raw),
        resumed: false,
        written: written.map(moved),
      };
    } finally {
      await intermediateKey.signer.close();
    }
  } finally {
    await rootKey.signer.close();
  }
}
