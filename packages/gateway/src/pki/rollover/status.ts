/**
 * `fleetgate ca status` (docs/pki.md "CA rollover"): what a data directory's CA looks like right now —
 * the phase (steady, overlap, or an interrupted swap), every trust anchor in ca.pem, every intermediate
 * with its issuer, validity and key custody (read from the key document: no key is opened, no
 * passphrase or PIN is needed), which intermediate issues, and how many certificates under DIR/pki
 * chain to each generation (what still has to rotate before `--complete`).
 *
 * Threat: an operator ending an overlap blind; a status that needs key material (it never does).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { caBundlePath, pkiRoot, serverPaths } from '../internal/layout.ts';
import { keyDocumentPath, legacyKeyPath } from '../keys/ca-key.ts';
import { readKeyDocument } from '../keys/document.ts';
import { type CaGeneration, readHierarchy } from './hierarchy.ts';
import { type CaRole, currentCaPaths, previousCaPaths } from './layout.ts';

export interface CertificateSummary {
  readonly subject: string;
  readonly serialNumber: string;
  readonly sha256: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Valid at the time of the status (not expired, not yet valid). */
  readonly validNow: boolean;
}

export interface IntermediateStatus extends CertificateSummary {
  readonly generation: 'current' | 'previous';
  /** SHA-256 of the root that issued it. */
  readonly issuerSha256: string;
  /** True for the one intermediate that issues new certificates. */
  readonly issuing: boolean;
  readonly key: KeyCustodyStatus;
}

export interface KeyCustodyStatus {
  readonly custody: 'file' | 'pkcs11' | 'plaintext' | 'absent';
  readonly detail: string;
}

export interface CaStatus {
  readonly phase: 'uninitialised' | 'steady' | 'overlap' | 'swap-pending';
  /** Self-signed certificates in ca.pem: the trust anchors relying parties hold. */
  readonly anchors: readonly (CertificateSummary & { readonly key: KeyCustodyStatus })[];
  readonly intermediates: readonly IntermediateStatus[];
  /** Certificates under pki/server, pki/partners and pki/devices by the generation that issued them. */
  readonly leaves: { readonly current: number; readonly previous: number; readonly other: number };
  readonly server: {
    readonly generation: 'current' | 'previous' | 'other' | 'absent';
    readonly notAfter?: string;
  };
}

function summary(certificate: X509Certificate, now: Date): CertificateSummary {
  return {
    subject: certificate.subject.replaceAll('\n', ', '),
    serialNumber: certificate.serialNumber.toLowerCase(),
    sha256: createHash('sha256').update(certificate.raw).digest('hex'),
    notBefore: certificate.validFromDate.toISOString(),
    notAfter: certificate.validToDate.toISOString(),
    validNow: certificate.validFromDate <= now && now <= certificate.validToDate,
  };
}

async function custodyOf(caDir: string): Promise<KeyCustodyStatus> {
  const loaded = await readKeyDocument(keyDocumentPath(caDir)).catch(() => undefined);
  if (loaded !== undefined) {
    const d = loaded.document;
    return d.provider === 'file'
      ? {
          custody: 'file',
          detail: `encrypted (scrypt 2^${d.kdf.logN}, AES-256-GCM), passphrase from ${'env' in d.passphrase ? `$${d.passphrase.env}` : d.passphrase.file}`,
        }
      : { custody: 'pkcs11', detail: `token "${d.tokenLabel}", object "${d.keyLabel}" via ${d.module}` };
  }
  if (existsSync(legacyKeyPath(caDir))) {
    return { custody: 'plaintext', detail: 'legacy PKCS#8 key.pem (fleetgate init migrates it)' };
  }
  return { custody: 'absent', detail: 'no key in this folder (offline, or retired)' };
}

function splitPem(text: string): X509Certificate[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
    (pem) => new X509Certificate(pem),
  );
}

function generationOfLeaf(leaf: X509Certificate, current: CaGeneration, previous: CaGeneration | undefined) {
  const by = (issuer: X509Certificate): boolean => leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);
  if (by(current.intermediate)) return 'current' as const;
  if (previous !== undefined && by(previous.intermediate)) return 'previous' as const;
  return 'other' as const;
}

export async function caStatus(dataDir: string, now: Date = new Date()): Promise<CaStatus> {
  const state = await readHierarchy(dataDir);
  if (state === undefined) {
    return {
      phase: 'uninitialised',
      anchors: [],
      intermediates: [],
      leaves: { current: 0, previous: 0, other: 0 },
      server: { generation: 'absent' },
    };
  }
  const bundlePath = caBundlePath(dataDir);
  const bundle = existsSync(bundlePath) ? splitPem(readFileSync(bundlePath, 'utf8')) : [];
  const folderOf = (certificate: X509Certificate): string | undefined => {
    for (const [generation, paths] of [
      [state.current, (w: CaRole) => currentCaPaths(dataDir, w)],
      [state.previous, (w: CaRole) => previousCaPaths(dataDir, w)],
    ] as const) {
      if (generation?.root.raw.equals(certificate.raw)) return paths('root').dir;
    }
    return undefined;
  };
  const anchors = [];
  for (const certificate of bundle.filter((c) => c.checkIssued(c))) {
    const folder = folderOf(certificate);
    anchors.push({
      ...summary(certificate, now),
      key:
        folder === undefined
          ? { custody: 'absent' as const, detail: 'not in this data directory' }
          : await custodyOf(folder),
    });
  }
  const intermediates: IntermediateStatus[] = [];
  for (const [generation, g, paths] of [
    ['current', state.current, currentCaPaths(dataDir, 'intermediate')],
    ...(state.previous === undefined
      ? []
      : [['previous', state.previous, previousCaPaths(dataDir, 'intermediate')] as const]),
  ] as const) {
    intermediates.push({
      ...summary(g.intermediate, now),
      generation,
      issuerSha256: summary(g.root, now).sha256,
      issuing: generation === 'current',
      key: await custodyOf(paths.dir),
    });
  }
  const leaves = { current: 0, previous: 0, other: 0 };
  for (const folder of ['partners', 'devices']) {
    const dir = join(pkiRoot(dataDir), folder);
    if (!existsSync(dir)) continue;
    for (const id of readdirSync(dir)) {
      const path = join(dir, id, 'cert.pem');
      if (existsSync(path))
        leaves[generationOfLeaf(new X509Certificate(readFileSync(path)), state.current, state.previous)] += 1;
    }
  }
  const serverPath = serverPaths(dataDir).cert;
  const serverCert = existsSync(serverPath) ? new X509Certificate(readFileSync(serverPath)) : undefined;
  return {
    phase: state.swapPending ? 'swap-pending' : state.previous === undefined ? 'steady' : 'overlap',
    anchors,
    intermediates,
    leaves,
    server:
      serverCert === undefined
        ? { generation: 'absent' }
        : {
            generation: generationOfLeaf(serverCert, state.current, state.previous),
            notAfter: serverCert.validToDate.toISOString(),
          },
  };
}
