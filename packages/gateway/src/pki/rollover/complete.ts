/**
 * CA rollover, second phase (`fleetgate ca rollover --complete`; docs/pki.md "CA rollover"): ends the
 * overlap once every relying party has the new trust bundle and the certificates of the previous
 * hierarchy have rotated:
 *
 *   1. refuses while partner or device certificates under DIR/pki still chain to the previous
 *      intermediate (they would stop working) unless `force` — the compromised-CA runbook's case;
 *   2. re-issues the server certificate under the new intermediate (for its existing key) if it is
 *      still from the previous hierarchy — clients verify it with the new root from now on;
 *   3. rewrites ca.pem with the new hierarchy only (running gateways reload it: certificates from the
 *      previous hierarchy are refused at the next handshake);
 *   4. moves pki/previous/ to pki/retired/<time>/ (kept, not deleted: an operator destroys the old keys
 *      deliberately — for PKCS#11, in the token).
 *
 * Threat: ending trust in a hierarchy that still has live certificates by accident (step 1), or a
 * gateway presenting a certificate its clients no longer trust (step 2 happens before step 3, and only
 * after the overlap in which clients fetched the new bundle).
 */
import type { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadIssuingCa } from '../ca.ts';
import { PkiError } from '../errors.ts';
import {
  PUBLIC_FILE_MODE,
  readCertificateIfExists,
  writeFileAtomic,
  writeIfChanged,
} from '../internal/files.ts';
import { caBundlePath, pkiRoot, serverPaths } from '../internal/layout.ts';
import { issueServerCertificate } from '../issue.ts';
import { readHierarchy, trustBundlePem } from './hierarchy.ts';
import { previousDir, retiredDir } from './layout.ts';
import { finishPendingSwap } from './swap.ts';

export interface CompleteRolloverOptions {
  /** End the overlap even though certificates of the previous hierarchy remain (they stop working). */
  readonly force?: boolean;
  /** Issuance time of a re-issued server certificate, and the retired folder's name; default now. */
  readonly now?: Date;
}

export interface CompleteRolloverResult {
  /** Files under DIR/pki whose certificate chains to the previous intermediate (left behind if forced). */
  readonly remaining: readonly string[];
  readonly serverReissued: boolean;
  /** Where the previous hierarchy was moved. */
  readonly retiredTo: string;
  readonly written: readonly string[];
}

/** Leaf certificate files under pki/partners/* and pki/devices/*. */
function leafCertificateFiles(dataDir: string): string[] {
  const files: string[] = [];
  for (const folder of ['partners', 'devices']) {
    const dir = join(pkiRoot(dataDir), folder);
    if (!existsSync(dir)) continue;
    for (const id of readdirSync(dir).sort()) {
      const cert = join(dir, id, 'cert.pem');
      if (existsSync(cert)) files.push(cert);
    }
  }
  return files;
}

const issuedBy = (leaf: X509Certificate, issuer: X509Certificate): boolean =>
  leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);

export async function completeRollover(
  dataDir: string,
  options: CompleteRolloverOptions = {},
): Promise<CompleteRolloverResult> {
  await finishPendingSwap(dataDir);
  const state = await readHierarchy(dataDir);
  if (state?.previous === undefined) {
    throw new PkiError('PKI_STATE_CONFLICT', 'no rollover in progress (nothing to complete)');
  }
  const previous = state.previous;
  const remaining: string[] = [];
  for (const path of leafCertificateFiles(dataDir)) {
    const leaf = await readCertificateIfExists(path);
    if (leaf !== undefined && issuedBy(leaf, previous.intermediate)) remaining.push(path);
  }
  if (remaining.length > 0 && options.force !== true) {
    throw new PkiError(
      'PKI_STATE_CONFLICT',
      `${remaining.length} certificate(s) still chain to the previous hierarchy; rotate them first, or --force`,
    );
  }

  const written: string[] = [];
  const server = serverPaths(dataDir);
  const serverCert = await readCertificateIfExists(server.cert);
  let serverReissued = false;
  if (serverCert !== undefined && issuedBy(serverCert, previous.intermediate)) {
    const issuing = await loadIssuingCa(dataDir);
    const sans = serverCert.subjectAltName ?? '';
    const dnsNames = [...sans.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1] ?? '');
    const ipAddresses = [...sans.matchAll(/IP Address:([^,\s]+)/g)].map((m) => m[1] ?? '');
    const issued = await issueServerCertificate(issuing, {
      publicKey: serverCert.publicKey,
      dnsNames,
      ipAddresses,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    // chain.pem first: it is what the TLS listeners load (with the unchanged key.pem).
    await writeFileAtomic(server.chain, issued.chainPem, PUBLIC_FILE_MODE);
    await writeFileAtomic(server.cert, issued.certificatePem, PUBLIC_FILE_MODE);
    written.push(server.chain, server.cert);
    serverReissued = true;
  }

  const bundle = caBundlePath(dataDir);
  if (
    await writeIfChanged(
      bundle,
      trustBundlePem({ current: state.current, previous: undefined }),
      PUBLIC_FILE_MODE,
    )
  ) {
    written.push(bundle);
  }
  const stamp = (options.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
  const retiredTo = retiredDir(dataDir, stamp);
  await mkdir(dirname(retiredTo), { recursive: true, mode: 0o700 });
  await rename(previousDir(dataDir), retiredTo);
  return { remaining, serverReissued, retiredTo, written };
}
