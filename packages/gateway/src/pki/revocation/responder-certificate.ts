/**
 * The OCSP responder's delegated signing certificate (RFC 6960 §4.2.2.2): issued by the intermediate
 * (the CA whose certificates it answers for), end-entity, keyUsage digitalSignature, extendedKeyUsage
 * id-kp-OCSPSigning and id-pkix-ocsp-nocheck (§4.2.2.2.1: relying parties need not check the
 * responder's own status — so its life is kept short: 30 days, renewed when 10 remain).
 *
 * Kept in DIR/pki/ocsp/ (folder 0700, key.pem 0600, cert.pem 0644; ocsp/previous/ for the previous
 * intermediate during a CA rollover). The key is the responder's own
 * P-256 key, generated on first use and never the CA's; the CA signs the responder certificate only
 * through the builder internals (internal/x509-lib.ts), like every other certificate.
 *
 * Threats: a responder certificate that outlives its purpose (short validity; renewed, never
 * extended); one left over from a replaced intermediate (re-issued unless it verifies under the current
 * issuer); a key file others can read (refused by readPrivateKeyIfExists).
 */
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { IssuingCa } from '../ca.ts';
import { PkiError } from '../errors.ts';
import { assertValidFleetgateId } from '../identity.ts';
import { publicKeyOf } from '../internal/build.ts';
import {
  certificatePem,
  ensurePrivateDir,
  PRIVATE_FILE_MODE,
  PUBLIC_FILE_MODE,
  privateKeyPem,
  readCertificateIfExists,
  readPrivateKeyIfExists,
  writeFileAtomic,
} from '../internal/files.ts';
import { pkiRoot } from '../internal/layout.ts';
import { CLOCK_SKEW_BACKDATE_MS } from '../internal/validity.ts';
import { randomSerialHex, spkiDer, webCrypto, x509 } from '../internal/x509-lib.ts';
import type { AuthorityRole } from './authorities.ts';
import { caSigning } from './ca-signing.ts';

export const OID_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
export const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

const DAY_MS = 24 * 60 * 60 * 1000;
export const RESPONDER_VALIDITY_DAYS = 30;
export const RESPONDER_RENEW_DAYS = 10;

export interface OcspResponderKeys {
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
}

export interface EnsureResponderResult extends OcspResponderKeys {
  /** True when a certificate was issued by this call. */
  readonly issued: boolean;
}

/**
 * DIR/pki/ocsp/ for the issuing intermediate's responder; DIR/pki/ocsp/previous/ for the previous
 * intermediate's during a CA rollover's overlap (a delegated responder must be issued by the CA whose
 * certificates it answers for, RFC 6960 §4.2.2.2).
 */
export function ocspResponderPaths(
  dataDir: string,
  which: AuthorityRole = 'issuing',
): { dir: string; key: string; cert: string } {
  const base = join(pkiRoot(dataDir), 'ocsp');
  // A tenant CA's responder: DIR/pki/ocsp/tenants/<tenant>/ (the tenant was validated as a folder name).
  const tenant = which.startsWith('tenant:') ? which.slice('tenant:'.length) : undefined;
  if (tenant !== undefined) assertValidFleetgateId(tenant, 'tenant');
  const dir =
    which === 'issuing'
      ? base
      : tenant === undefined
        ? join(base, 'previous')
        : join(base, 'tenants', tenant);
  return { dir, key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
}

function usable(cert: X509Certificate, key: KeyObject, issuer: X509Certificate, now: Date): boolean {
  return (
    cert.checkPrivateKey(key) &&
    cert.checkIssued(issuer) &&
    cert.verify(issuer.publicKey) &&
    cert.validFromDate.getTime() <= now.getTime() &&
    cert.validToDate.getTime() - now.getTime() > RESPONDER_RENEW_DAYS * DAY_MS
  );
}

async function issueResponderCertificate(ca: IssuingCa, key: KeyObject, now: Date): Promise<X509Certificate> {
  const signing = caSigning(ca);
  const issuer = new x509.X509Certificate(new Uint8Array(ca.certificate.raw));
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski === null) throw new PkiError('PKI_CA_UNAVAILABLE', 'CA certificate has no SKI');
  const spki = spkiDer(publicKeyOf(key));
  const second = (t: number) => new Date(Math.floor(t / 1000) * 1000);
  const notAfter = Math.min(
    now.getTime() + RESPONDER_VALIDITY_DAYS * DAY_MS,
    ca.certificate.validToDate.getTime(),
  );
  const built = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: new x509.Name([{ O: ['fleetgate'] }, { CN: ['fleetgate OCSP Responder'] }]),
      issuer: issuer.subjectName,
      notBefore: second(now.getTime() - CLOCK_SKEW_BACKDATE_MS),
      notAfter: second(notAfter),
      publicKey: spki,
      signingKey: signing.signingKey,
      signingAlgorithm: signing.signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([OID_OCSP_SIGNING], false),
        // id-pkix-ocsp-nocheck: extnValue is the DER of NULL.
        new x509.Extension(OID_OCSP_NOCHECK, false, new Uint8Array([0x05, 0x00])),
        await x509.SubjectKeyIdentifierExtension.create(spki, false, webCrypto),
        new x509.AuthorityKeyIdentifierExtension(ski.keyId, false),
      ],
    },
    signing.crypto,
  );
  const certificate = new X509Certificate(new Uint8Array(built.rawData));
  if (!certificate.verify(ca.certificate.publicKey)) {
    throw new PkiError('PKI_MALFORMED_CERTIFICATE', 'freshly built responder certificate does not verify');
  }
  return certificate;
}

/**
 * The responder certificate and key under DIR/pki/ocsp/, issuing (or renewing) the certificate when it
 * is missing, due for renewal, or not from `issuer`. Without a CA (`ca` undefined: the key is offline
 * or unavailable) an existing certificate that still verifies is used until it expires; otherwise
 * PKI_CA_UNAVAILABLE.
 */
export async function ensureOcspResponder(
  dataDir: string,
  issuer: X509Certificate,
  ca: IssuingCa | undefined,
  now: Date,
  which: AuthorityRole = 'issuing',
): Promise<EnsureResponderResult> {
  const paths = ocspResponderPaths(dataDir, which);
  await ensurePrivateDir(paths.dir);
  let key = await readPrivateKeyIfExists(paths.key);
  if (key === undefined) {
    key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await writeFileAtomic(paths.key, privateKeyPem(key), PRIVATE_FILE_MODE);
  }
  const existing = await readCertificateIfExists(paths.cert);
  if (existing !== undefined && usable(existing, key, issuer, now)) {
    return { certificate: existing, privateKey: key, issued: false };
  }
  if (ca === undefined) {
    const stillValid =
      existing?.checkPrivateKey(key) === true &&
      existing.verify(issuer.publicKey) &&
      existing.validToDate.getTime() > now.getTime();
    if (stillValid) return { certificate: existing, privateKey: key, issued: false };
    throw new PkiError('PKI_CA_UNAVAILABLE', 'no issuing CA to certify the OCSP responder');
  }
  const certificate = await issueResponderCertificate(ca, key, now);
  await writeFileAtomic(paths.cert, certificatePem(certificate), PUBLIC_FILE_MODE);
  return { certificate, privateKey: key, issued: true };
}
