/**
 * `fleetgate init`'s PKI: root → intermediate → leaves under DIR/pki/ (layout in internal/layout.ts),
 * profiles per RFC 5280 §4.2.1 (see ca.ts and issue.ts).
 *
 * Idempotent and conservative. Each unit (a key and its certificate) is handled alone:
 *   key and certificate present → kept, after checking that they match and that a leaf was issued by the
 *     current intermediate (and the intermediate by the root); a mismatch is PKI_STATE_CONFLICT;
 *   key present, certificate missing (a crash between the two writes) → a certificate is issued for the
 *     existing key;
 *   certificate present, key missing → PKI_STATE_CONFLICT: a key is never regenerated under a
 *     certificate, and no existing key file is ever overwritten;
 *   neither → both are created.
 * Derived files (ca.pem, chain.pem) are rewritten only when their content would change, so a second run
 * with the same arguments changes no bytes. Existing certificates are not re-issued when options change
 * (new server names, validity) nor when they expire (renewal belongs to rotation); delete a certificate
 * to re-issue it for the same key. Not safe to run concurrently on one data directory.
 *
 * Threats: silently replacing a CA (which would orphan every issued certificate), overwriting keys,
 * loose modes on key files, and ids that escape their folder (all ids are validated before any write).
 */
import { generateKeyPairSync, type KeyObject, type X509Certificate } from 'node:crypto';
import { createIntermediateCa, createSelfSignedCa, type IssuingCa } from './ca.ts';
import { PkiError } from './errors.ts';
import { assertValidFleetgateId } from './identity.ts';
import { assertServerNames } from './internal/build.ts';
import {
  certificatePem,
  ensurePrivateDir,
  PRIVATE_FILE_MODE,
  PUBLIC_FILE_MODE,
  privateKeyPem,
  readCertificateIfExists,
  readPrivateKeyIfExists,
  writeFileAtomic,
  writeIfChanged,
} from './internal/files.ts';
import {
  type CaPaths,
  caBundlePath,
  caPaths,
  devicePaths,
  type LeafPaths,
  partnerPaths,
  pkiRoot,
  serverPaths,
} from './internal/layout.ts';
import type { CertificateProfile } from './internal/validity.ts';
import {
  DEFAULT_SERVER_DNS_NAMES,
  DEFAULT_SERVER_IP_ADDRESSES,
  issueDeviceCertificate,
  issuePartnerCertificate,
  issueServerCertificate,
} from './issue.ts';

export type { CaPaths, LeafPaths } from './internal/layout.ts';

export interface BootstrapPkiOptions {
  readonly vehicles: readonly string[];
  readonly partners: readonly string[];
  /** Server SAN DNS names; default ["localhost"]. */
  readonly serverNames?: readonly string[];
  /** Server SAN IP addresses; default ["127.0.0.1", "::1"]. */
  readonly serverIps?: readonly string[];
  /** Issuance time; default now. */
  readonly now?: Date;
  /** Validity per profile in days; defaults in DEFAULT_VALIDITY_DAYS. */
  readonly validityDays?: Readonly<Partial<Record<CertificateProfile, number>>>;
}

export interface PkiManifest {
  /** DIR/pki, absolute. */
  readonly dir: string;
  readonly root: CaPaths;
  readonly intermediate: CaPaths;
  /** ca.pem: root then intermediate certificate (the trust bundle for both TLS sides). */
  readonly caBundle: string;
  readonly server: LeafPaths;
  /** By partner id (a null-prototype record). */
  readonly partners: Readonly<Record<string, LeafPaths>>;
  /** By vehicle id (a null-prototype record). */
  readonly vehicles: Readonly<Record<string, LeafPaths>>;
  /** Absolute paths of the files this call wrote, in order; empty when nothing was missing. */
  readonly written: readonly string[];
}

type Issue = (key: KeyObject) => Promise<X509Certificate>;

function conflict(message: string): PkiError {
  return new PkiError('PKI_STATE_CONFLICT', message);
}

/** Loads or creates one key + certificate unit, applying the rules in the module comment. */
async function ensureUnit(
  paths: CaPaths,
  generateKey: () => KeyObject,
  issue: Issue,
  written: string[],
): Promise<{ certificate: X509Certificate; privateKey: KeyObject }> {
  await ensurePrivateDir(paths.dir);
  let privateKey = await readPrivateKeyIfExists(paths.key);
  let certificate = await readCertificateIfExists(paths.cert);
  if (certificate !== undefined && privateKey === undefined) {
    throw conflict(`certificate without its key (refusing to generate a new key): ${paths.cert}`);
  }
  if (privateKey === undefined) {
    privateKey = generateKey();
    await writeFileAtomic(paths.key, privateKeyPem(privateKey), PRIVATE_FILE_MODE);
    written.push(paths.key);
  }
  if (certificate === undefined) {
    certificate = await issue(privateKey);
    await writeFileAtomic(paths.cert, certificatePem(certificate), PUBLIC_FILE_MODE);
    written.push(paths.cert);
  } else if (!certificate.checkPrivateKey(privateKey)) {
    throw conflict(`certificate does not match its key: ${paths.cert}`);
  }
  return { certificate, privateKey };
}

function assertIssuedBy(certificate: X509Certificate, issuer: IssuingCa, path: string): void {
  if (!certificate.checkIssued(issuer.certificate) || !certificate.verify(issuer.certificate.publicKey)) {
    throw conflict(`certificate was not issued by the current CA: ${path}`);
  }
}

async function ensureLeaf(
  paths: LeafPaths,
  issuer: IssuingCa,
  generateKey: () => KeyObject,
  issue: Issue,
  written: string[],
): Promise<LeafPaths> {
  const { certificate } = await ensureUnit(paths, generateKey, issue, written);
  assertIssuedBy(certificate, issuer, paths.cert);
  const chain = certificatePem(certificate) + certificatePem(issuer.certificate);
  if (await writeIfChanged(paths.chain, chain, PUBLIC_FILE_MODE)) written.push(paths.chain);
  return paths;
}

const p256 = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ed25519 = (): KeyObject => generateKeyPairSync('ed25519').privateKey;

function uniqueIds(ids: readonly string[], what: string): string[] {
  for (const id of ids) assertValidFleetgateId(id, what);
  return [...new Set(ids)];
}

/** Creates whatever is missing under DIR/pki/ and returns where everything is. */
export async function bootstrapPki(dataDir: string, options: BootstrapPkiOptions): Promise<PkiManifest> {
  // Validate every input before the first write.
  const vehicles = uniqueIds(options.vehicles, 'vehicle');
  const partners = uniqueIds(options.partners, 'partner');
  const dnsNames = options.serverNames ?? DEFAULT_SERVER_DNS_NAMES;
  const ipAddresses = options.serverIps ?? DEFAULT_SERVER_IP_ADDRESSES;
  assertServerNames(dnsNames, ipAddresses);
  const days = options.validityDays ?? {};
  const timing = (profile: CertificateProfile) => ({
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(days[profile] === undefined ? {} : { validityDays: days[profile] }),
  });

  const written: string[] = [];
  await ensurePrivateDir(pkiRoot(dataDir));
  const rootPaths = caPaths(dataDir, 'root');
  const root = await ensureUnit(
    rootPaths,
    p256,
    async (privateKey) => {
      const ca = await createSelfSignedCa({
        commonName: 'fleetgate Root CA',
        pathLength: 1,
        privateKey,
        ...timing('root'),
      });
      return ca.certificate;
    },
    written,
  );
  if (!root.certificate.ca) throw conflict(`root certificate is not a CA: ${rootPaths.cert}`);

  const intermediatePaths = caPaths(dataDir, 'intermediate');
  const intermediate = await ensureUnit(
    intermediatePaths,
    p256,
    async (privateKey) => {
      const ca = await createIntermediateCa(root, { privateKey, ...timing('intermediate') });
      return ca.certificate;
    },
    written,
  );
  assertIssuedBy(intermediate.certificate, root, intermediatePaths.cert);
  if (!intermediate.certificate.ca) throw conflict(`intermediate is not a CA: ${intermediatePaths.cert}`);

  const caBundle = caBundlePath(dataDir);
  const bundle = certificatePem(root.certificate) + certificatePem(intermediate.certificate);
  if (await writeIfChanged(caBundle, bundle, PUBLIC_FILE_MODE)) written.push(caBundle);

  const server = await ensureLeaf(
    serverPaths(dataDir),
    intermediate,
    p256,
    async (publicKey) => {
      const issued = await issueServerCertificate(intermediate, {
        publicKey,
        dnsNames,
        ipAddresses,
        ...timing('server'),
      });
      return issued.certificate;
    },
    written,
  );

  const partnerManifest: Record<string, LeafPaths> = Object.create(null);
  for (const partnerId of partners) {
    partnerManifest[partnerId] = await ensureLeaf(
      partnerPaths(dataDir, partnerId),
      intermediate,
      p256,
      async (publicKey) => {
        const issued = await issuePartnerCertificate(intermediate, {
          partnerId,
          publicKey,
          ...timing('partner'),
        });
        return issued.certificate;
      },
      written,
    );
  }
  const vehicleManifest: Record<string, LeafPaths> = Object.create(null);
  for (const vehicleId of vehicles) {
    vehicleManifest[vehicleId] = await ensureLeaf(
      devicePaths(dataDir, vehicleId),
      intermediate,
      ed25519,
      async (publicKey) => {
        const issued = await issueDeviceCertificate(intermediate, {
          vehicleId,
          publicKey,
          ...timing('device'),
        });
        return issued.certificate;
      },
      written,
    );
  }

  return {
    dir: pkiRoot(dataDir),
    root: rootPaths,
    intermediate: intermediatePaths,
    caBundle,
    server,
    partners: partnerManifest,
    vehicles: vehicleManifest,
    written,
  };
}
