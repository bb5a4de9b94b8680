/**
 * Certification authorities: a self-signed root and the intermediate it certifies (RFC 5280 §4.2.1.9
 * basicConstraints with pathLenConstraint, §4.2.1.3 keyCertSign|cRLSign, §4.2.1.1/§4.2.1.2 AKI/SKI).
 * The root (pathLen 1) signs only the intermediate; the intermediate (pathLen 0) signs every leaf, so
 * the root key can stay offline after bootstrap. Keys are ECDSA P-256; signatures ecdsa-with-SHA256.
 *
 * `createSelfSignedCa` also mints "foreign" CAs for negative tests (a certificate from an unknown CA
 * must be refused at the handshake).
 *
 * `loadIssuingCa` reads the intermediate from DIR/pki/intermediate/ for online issuance (enrollment,
 * rotation, `fleetgate init` adding a vehicle); it never reads the root key, which an operator may move
 * offline after bootstrap. It fails closed (PKI_CA_UNAVAILABLE) unless both files are present, the
 * certificate is a CA and the key matches it, and refuses a key file others can read
 * (PKI_INSECURE_KEY_FILE). After a CA rollover (pki/rollover/) DIR/pki/intermediate/ is the NEW
 * intermediate, so issuance moves to it with no change for callers.
 *
 * Key custody (docs/pki.md "Key custody"): an IssuingCa's `privateKey` is either a node:crypto
 * KeyObject (CAs made in memory: tests, foreign CAs; a legacy plaintext key.pem) or a CaSigner from a
 * key provider — the encrypted file (the default) or a PKCS#11 token — which signs without handing the
 * key out. Callers never need to know which: issue*Certificate, and ecdsaSigningKey + webCrypto from
 * internal/x509-lib.ts for CRLs, accept both.
 *
 * Threat: a CA certificate without pathLen could certify further CAs; pathLen 0 on the intermediate
 * means a leaf that is somehow issued CA:TRUE still cannot extend the chain.
 */
import { generateKeyPairSync, type KeyObject, type X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { PkiError } from './errors.ts';
import { buildCertificate } from './internal/build.ts';
import { caPaths } from './internal/layout.ts';
import type { PermittedServerNames } from './internal/name-constraints.ts';
import { resolveValidity, type ValidityOptions } from './internal/validity.ts';
import { loadCaFolder } from './keys/load-ca.ts';
import type { CaSigner } from './keys/signer.ts';
import { journalPath } from './rollover/layout.ts';

export type { PermittedServerNames } from './internal/name-constraints.ts';
export { permittedServerNames } from './internal/name-constraints.ts';
export type { CertificateProfile, ValidityOptions } from './internal/validity.ts';
export { CLOCK_SKEW_BACKDATE_MS, DEFAULT_VALIDITY_DAYS } from './internal/validity.ts';
export type { CaSigner } from './keys/signer.ts';

/** A CA that can sign: its certificate and its P-256 key (see "Key custody" above). */
export interface IssuingCa {
  readonly certificate: X509Certificate;
  /** A private KeyObject, or a CaSigner whose provider holds the private key. */
  readonly privateKey: KeyObject | CaSigner;
}

export interface SelfSignedCaOptions extends ValidityOptions {
  /** Subject CN; 1–64 printable ASCII characters. */
  readonly commonName: string;
  /** basicConstraints pathLenConstraint; default 1 (root → intermediate → leaf). */
  readonly pathLength?: number;
  /** Use an existing P-256 key (a private KeyObject or a provider's CaSigner) instead of generating one. */
  readonly privateKey?: KeyObject | CaSigner;
}

export interface IntermediateCaOptions extends ValidityOptions {
  /** Subject CN; default "fleetgate Intermediate CA". */
  readonly commonName?: string;
  /**
   * Critical nameConstraints (RFC 5280 §4.2.1.10): the server names this CA may certify (see
   * internal/name-constraints.ts); absent = unconstrained (intermediates made before constraints).
   */
  readonly permitted?: PermittedServerNames;
  /** Use an existing P-256 key (a private KeyObject or a provider's CaSigner) instead of generating one. */
  readonly privateKey?: KeyObject | CaSigner;
}

const ORGANIZATION = 'fleetgate';
const COMMON_NAME = /^[\x20-\x7e]{1,64}$/; // RFC 5280 Appendix A: ub-common-name 64

function caName(commonName: string): Array<Record<string, string[]>> {
  if (!COMMON_NAME.test(commonName)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'CA common name must be 1-64 printable ASCII characters');
  }
  // Built as attribute/value pairs, never parsed from a DN string, so no name can inject an RDN.
  return [{ O: [ORGANIZATION] }, { CN: [commonName] }];
}

function caKey(existing: KeyObject | CaSigner | undefined): KeyObject | CaSigner {
  return existing ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** A self-signed CA certificate: CA:TRUE, pathLen as given (default 1), keyCertSign|cRLSign, SKI. */
export async function createSelfSignedCa(options: SelfSignedCaOptions): Promise<IssuingCa> {
  const pathLength = options.pathLength ?? 1;
  if (!Number.isSafeInteger(pathLength) || pathLength < 0 || pathLength > 8) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'pathLength must be an integer from 0 to 8');
  }
  const privateKey = caKey(options.privateKey);
  const certificate = await buildCertificate({
    subject: caName(options.commonName),
    subjectPublicKey: privateKey,
    profile: { kind: 'ca', pathLength },
    validity: resolveValidity('root', options),
    issuer: { selfSigningKey: privateKey },
  });
  return { certificate, privateKey };
}

/** An intermediate CA certified by `root`: CA:TRUE pathLen 0, keyCertSign|cRLSign, SKI and AKI. */
export async function createIntermediateCa(
  root: IssuingCa,
  options: IntermediateCaOptions = {},
): Promise<IssuingCa> {
  const privateKey = caKey(options.privateKey);
  const certificate = await buildCertificate({
    subject: caName(options.commonName ?? 'fleetgate Intermediate CA'),
    subjectPublicKey: privateKey,
    profile: {
      kind: 'ca',
      pathLength: 0,
      ...(options.permitted === undefined ? {} : { permitted: options.permitted }),
    },
    validity: resolveValidity('intermediate', options, root.certificate.validToDate),
    issuer: root,
  });
  return { certificate, privateKey };
}

/** A rollover swaps the hierarchy's folders in a few renames; issuance waits for that, at most this long. */
const ROLLOVER_SWAP_WAIT_MS = 2_000;

/** The issuing (intermediate) CA under DIR/pki/intermediate/. */
export async function loadIssuingCa(dataDir: string): Promise<IssuingCa> {
  const paths = caPaths(dataDir, 'intermediate');
  const context = { dataDir };
  let ca = await loadCaFolder(paths.dir, context);
  // pki/rollover.json exists only while `fleetgate ca rollover` moves folders (pki/rollover/).
  for (let waited = 0; ca === undefined && waited < ROLLOVER_SWAP_WAIT_MS; waited += 50) {
    if (!existsSync(journalPath(dataDir))) break;
    await sleep(50);
    ca = await loadCaFolder(paths.dir, context);
  }
  if (ca === undefined) {
    throw new PkiError('PKI_CA_UNAVAILABLE', `no issuing CA under ${paths.dir} (run fleetgate init)`);
  }
  return ca;
}
