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
 * CA keys (docs/pki.md "Key custody") are created through the configured provider (`keys`, default the
 * encrypted file) as DIR/pki/<ca>/key.json and opened only when something must be signed: a run that
 * issues nothing needs no passphrase or PIN (matching a key to its certificate uses the public key the
 * key document records). A legacy plaintext CA key.pem is migrated into an encrypted key.json. Leaf keys
 * (server, partners, devices) stay PKCS#8 PEM files (0600): the simulators and TLS peers read them.
 *
 * Issuing intermediates made here carry critical name constraints (the server names; ca.ts); with
 * `tenantIssuingCas`, one more intermediate per tenant under DIR/pki/tenants/<tenant>/, appended to
 * ca.pem after the hierarchy (tenants/tenant-ca.ts).
 *
 * CA rollover (pki/rollover/): an interrupted swap is finished first; during an overlap ca.pem carries
 * both hierarchies, leaves may chain to the current or the previous intermediate (chain.pem names the
 * actual issuer), and new leaves are issued by the current one.
 *
 * Threats: silently replacing a CA (which would orphan every issued certificate), overwriting keys,
 * loose modes on key files, and ids that escape their folder (all ids are validated before any write).
 */
import { generateKeyPairSync, type KeyObject, type X509Certificate } from 'node:crypto';
import { defaultKeysConfig, type KeysConfig } from '../config/config.ts';
import { createIntermediateCa, createSelfSignedCa, type IssuingCa, permittedServerNames } from './ca.ts';
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
import { createCaKey, keyDocumentPath, migrateLegacyCaKey, openCaKey } from './keys/ca-key.ts';
import { publicKeyOfDocument, readKeyDocument } from './keys/document.ts';
import { loadCaFolder } from './keys/load-ca.ts';
import type { SecretContext } from './keys/secret.ts';
import { type HierarchyState, issuerOf, readHierarchy, trustBundlePem } from './rollover/hierarchy.ts';
import { finishPendingSwap } from './rollover/swap.ts';
import { tenantCaPaths } from './tenants/tenant-ca.ts';

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
  /** Custody of NEW CA keys (config `keys`); default: the encrypted file provider (defaultKeysConfig). */
  readonly keys?: KeysConfig;
  /** Environment for the passphrase and PIN variables; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Tenants that get their own issuing intermediate (config `pki.tenantIssuingCas`), under
   * DIR/pki/tenants/<tenant>/ (tenants/tenant-ca.ts); default none.
   */
  readonly tenantIssuingCas?: readonly string[];
}

export interface PkiManifest {
  /** DIR/pki, absolute. */
  readonly dir: string;
  /** The current root and intermediate; `key` is the key in use (key.json, or a legacy key.pem). */
  readonly root: CaPaths;
  readonly intermediate: CaPaths;
  /** Per-tenant issuing intermediates by tenant (a null-prototype record; empty when none configured). */
  readonly tenantCas: Readonly<Record<string, CaPaths>>;
  /**
   * ca.pem: root then intermediate certificate (the trust bundle for both TLS sides); during a CA
   * rollover's overlap followed by the previous root and intermediate.
   */
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

/** Loads or creates one leaf key + certificate unit, applying the rules in the module comment. */
async function ensureUnit(
  paths: CaPaths,
  generateKey: () => KeyObject,
  issue: Issue,
  written: string[],
  issuerReady: () => Promise<unknown>,
): Promise<{ certificate: X509Certificate; privateKey: KeyObject }> {
  await ensurePrivateDir(paths.dir);
  let privateKey = await readPrivateKeyIfExists(paths.key);
  let certificate = await readCertificateIfExists(paths.cert);
  if (certificate !== undefined && privateKey === undefined) {
    throw conflict(`certificate without its key (refusing to generate a new key): ${paths.cert}`);
  }
  // Open the issuing CA before writing anything: without its passphrase or PIN nothing is written.
  if (certificate === undefined) await issuerReady();
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

/** A CA unit: its certificate now, its signing key only when something must be signed. */
interface CaUnit {
  readonly paths: CaPaths;
  readonly certificate: X509Certificate;
  issuing(): Promise<IssuingCa>;
}

/**
 * Loads or creates a CA unit (key through the provider, certificate): the same rules as ensureUnit.
 * An existing key is matched to its certificate by public key, without being opened.
 */
async function ensureCaUnit(
  paths: CaPaths,
  keys: KeysConfig,
  label: string,
  issue: (key: IssuingCa['privateKey']) => Promise<X509Certificate>,
  written: string[],
  context: SecretContext,
): Promise<CaUnit> {
  await ensurePrivateDir(paths.dir);
  written.push(...(await migrateLegacyCaKey(paths.dir, keys, context)));
  const document = await readKeyDocument(keyDocumentPath(paths.dir));
  let certificate = await readCertificateIfExists(paths.cert);
  if (certificate !== undefined && document === undefined) {
    throw conflict(`certificate without its key (refusing to generate a new key): ${paths.cert}`);
  }
  let opened: IssuingCa['privateKey'] | undefined;
  if (document === undefined) {
    const created = await createCaKey(paths.dir, keys, label, context);
    written.push(...created.written);
    opened = created.signer;
  } else if (certificate !== undefined) {
    const recorded = publicKeyOfDocument(document.document, keyDocumentPath(paths.dir));
    if (!certificate.publicKey.equals(recorded))
      throw conflict(`certificate does not match its key: ${paths.cert}`);
  }
  if (certificate === undefined) {
    const key = opened ?? (await loadCaFolderKey(paths, context));
    certificate = await issue(key);
    await writeFileAtomic(paths.cert, certificatePem(certificate), PUBLIC_FILE_MODE);
    written.push(paths.cert);
  }
  const cert = certificate;
  const resolved = { ...paths, key: keyDocumentPath(paths.dir) };
  return {
    paths: resolved,
    certificate: cert,
    issuing: async () => {
      if (opened !== undefined) return { certificate: cert, privateKey: opened };
      const ca = await loadCaFolder(paths.dir, context);
      if (ca === undefined) throw new PkiError('PKI_CA_UNAVAILABLE', `no key for ${paths.cert}`);
      return ca;
    },
  };
}

/** The key of a CA folder whose certificate is missing (a crash between key and certificate). */
async function loadCaFolderKey(paths: CaPaths, context: SecretContext): Promise<IssuingCa['privateKey']> {
  const key = await openCaKey(paths.dir, context);
  if (key === undefined) throw new PkiError('PKI_CA_UNAVAILABLE', `no key in ${paths.dir}`);
  return key;
}

async function ensureLeaf(
  paths: LeafPaths,
  hierarchy: HierarchyState,
  issue: Issue,
  generateKey: () => KeyObject,
  written: string[],
  issuerReady: () => Promise<unknown>,
): Promise<LeafPaths> {
  const { certificate } = await ensureUnit(paths, generateKey, issue, written, issuerReady);
  const issuer = issuerOf(hierarchy, certificate);
  if (issuer === undefined) throw conflict(`certificate was not issued by the current CA: ${paths.cert}`);
  const chain = certificatePem(certificate) + certificatePem(issuer);
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
  const tenants = uniqueIds(options.tenantIssuingCas ?? [], 'tenant');
  const dnsNames = options.serverNames ?? DEFAULT_SERVER_DNS_NAMES;
  const ipAddresses = options.serverIps ?? DEFAULT_SERVER_IP_ADDRESSES;
  assertServerNames(dnsNames, ipAddresses);
  // Every NEW issuing intermediate may only certify these server names (internal/name-constraints.ts).
  const permitted = permittedServerNames(dnsNames, ipAddresses);
  const days = options.validityDays ?? {};
  const timing = (profile: CertificateProfile) => ({
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(days[profile] === undefined ? {} : { validityDays: days[profile] }),
  });

  const keys = options.keys ?? defaultKeysConfig();
  const context: SecretContext = { dataDir, ...(options.env === undefined ? {} : { env: options.env }) };

  const written: string[] = [];
  await ensurePrivateDir(pkiRoot(dataDir));
  await finishPendingSwap(dataDir); // an interrupted CA rollover is finished before anything is read
  const root = await ensureCaUnit(
    caPaths(dataDir, 'root'),
    keys,
    'fleetgate-root',
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
    context,
  );
  if (!root.certificate.ca) throw conflict(`root certificate is not a CA: ${root.paths.cert}`);

  // The shared intermediate and each tenant's issuing CA: intermediates under the current root.
  const issuingCa = (paths: CaPaths, keyName: string, commonName?: string) =>
    ensureCaUnit(
      paths,
      keys,
      keyName,
      async (privateKey) => {
        const ca = await createIntermediateCa(await root.issuing(), {
          ...(commonName === undefined ? {} : { commonName }),
          privateKey,
          permitted,
          ...timing('intermediate'),
        });
        return ca.certificate;
      },
      written,
      context,
    );
  const intermediate = await issuingCa(caPaths(dataDir, 'intermediate'), 'fleetgate-intermediate');
  const intermediateCert = intermediate.certificate;
  if (
    !intermediateCert.checkIssued(root.certificate) ||
    !intermediateCert.verify(root.certificate.publicKey)
  ) {
    throw conflict(`certificate was not issued by the current CA: ${intermediate.paths.cert}`);
  }
  if (!intermediateCert.ca) throw conflict(`intermediate is not a CA: ${intermediate.paths.cert}`);

  // The previous hierarchy, during a rollover's overlap (certificates only; its keys stay closed).
  const hierarchy: HierarchyState = {
    current: { root: root.certificate, intermediate: intermediateCert },
    previous: (await readHierarchy(dataDir))?.previous,
    swapPending: false,
  };
  const tenantCas: Record<string, CaPaths> = Object.create(null);
  const tenantCerts: X509Certificate[] = [];
  for (const tenant of tenants) {
    const unit = await issuingCa(
      tenantCaPaths(dataDir, tenant),
      `fleetgate-tenant-${tenant}`,
      `fleetgate Issuing CA ${tenant}`.slice(0, 64),
    );
    if (!unit.certificate.ca || !unit.certificate.verify(root.certificate.publicKey)) {
      throw conflict(`tenant CA was not issued by the current root: ${unit.paths.cert}`);
    }
    tenantCas[tenant] = unit.paths;
    tenantCerts.push(unit.certificate);
  }
  const caBundle = caBundlePath(dataDir);
  const bundle = trustBundlePem(hierarchy) + tenantCerts.map((c) => certificatePem(c)).join('');
  if (await writeIfChanged(caBundle, bundle, PUBLIC_FILE_MODE)) written.push(caBundle);
  let issuing: Promise<IssuingCa> | undefined;
  const issuer = (): Promise<IssuingCa> => {
    issuing ??= intermediate.issuing();
    return issuing;
  };

  const server = await ensureLeaf(
    serverPaths(dataDir),
    hierarchy,
    async (publicKey) => {
      const issued = await issueServerCertificate(await issuer(), {
        publicKey,
        dnsNames,
        ipAddresses,
        ...timing('server'),
      });
      return issued.certificate;
    },
    p256,
    written,
    issuer,
  );

  const partnerManifest: Record<string, LeafPaths> = Object.create(null);
  for (const partnerId of partners) {
    partnerManifest[partnerId] = await ensureLeaf(
      partnerPaths(dataDir, partnerId),
      hierarchy,
      async (publicKey) => {
        const issued = await issuePartnerCertificate(await issuer(), {
          partnerId,
          publicKey,
          ...timing('partner'),
        });
        return issued.certificate;
      },
      p256,
      written,
      issuer,
    );
  }
  const vehicleManifest: Record<string, LeafPaths> = Object.create(null);
  for (const vehicleId of vehicles) {
    vehicleManifest[vehicleId] = await ensureLeaf(
      devicePaths(dataDir, vehicleId),
      hierarchy,
      async (publicKey) => {
        const issued = await issueDeviceCertificate(await issuer(), {
          vehicleId,
          publicKey,
          ...timing('device'),
        });
        return issued.certificate;
      },
      ed25519,
      written,
      issuer,
    );
  }

  return {
    dir: pkiRoot(dataDir),
    root: root.paths,
    intermediate: intermediate.paths,
    tenantCas,
    caBundle,
    server,
    partners: partnerManifest,
    vehicles: vehicleManifest,
    written,
  };
}
