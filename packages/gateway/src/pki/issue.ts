/**
 * End-entity certificates issued by the intermediate (RFC 5280 §4.2.1.6 SAN, §4.2.1.9 CA:FALSE,
 * §4.2.1.3 digitalSignature, §4.2.1.12 EKU):
 *   device  — SAN URI urn:fleetgate:vehicle:<id>, EKU clientAuth, **Ed25519 key**: the key the vehicle
 *             signs telemetry batches with, so the certificate binds vehicle id ↔ signing key and an
 *             auditor can verify telemetry against the chain. Default 90 days.
 *   partner — SAN URI urn:fleetgate:partner:<id>, EKU clientAuth, ECDSA P-256. Default 1 year.
 *   server  — SAN DNS names and IP addresses, EKU serverAuth, ECDSA P-256. Default 1 year.
 * Issuance takes only the subject's public key: leaf private keys never pass through the issuer.
 *
 * Threats: a client certificate usable as a server certificate (or the reverse) — one EKU each; an id
 * that escapes its namespace or a file path — ids are checked against FLEETGATE_ID_PATTERN; a device
 * certificate over a key the telemetry verifier does not expect — only Ed25519 is accepted.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { JsonGeneralName } from '@peculiar/x509';
import type { IssuingCa } from './ca.ts';
import { PkiError } from './errors.ts';
import { identityUri, type PeerKind } from './identity.ts';
import {
  assertServerNames,
  assertUsableCa,
  buildCertificate,
  isP256,
  OID_CLIENT_AUTH,
  OID_SERVER_AUTH,
  publicKeyOf,
} from './internal/build.ts';
import { certificatePem } from './internal/files.ts';
import { type CertificateProfile, resolveValidity, type ValidityOptions } from './internal/validity.ts';

/** A freshly issued leaf: the certificate, its PEM, and the chain to present in TLS (leaf + issuer). */
export interface IssuedCertificate {
  readonly certificate: X509Certificate;
  readonly certificatePem: string;
  readonly chainPem: string;
}

export interface DeviceCertificateRequest extends ValidityOptions {
  readonly vehicleId: string;
  /** The vehicle's Ed25519 telemetry-signing key (public; a private KeyObject's public half is used). */
  readonly publicKey: KeyObject;
}

export interface PartnerCertificateRequest extends ValidityOptions {
  readonly partnerId: string;
  /** The partner's ECDSA P-256 key. */
  readonly publicKey: KeyObject;
}

export interface ServerCertificateRequest extends ValidityOptions {
  /** The server's ECDSA P-256 key. */
  readonly publicKey: KeyObject;
  /** SAN dNSNames; default ["localhost"]. */
  readonly dnsNames?: readonly string[];
  /** SAN iPAddresses; default ["127.0.0.1", "::1"]. */
  readonly ipAddresses?: readonly string[];
}

export const DEFAULT_SERVER_DNS_NAMES: readonly string[] = ['localhost'];
export const DEFAULT_SERVER_IP_ADDRESSES: readonly string[] = ['127.0.0.1', '::1'];

const ORGANIZATION = 'fleetgate';

async function issueLeaf(
  ca: IssuingCa,
  profile: CertificateProfile,
  subject: Array<Record<string, string[]>>,
  publicKey: KeyObject,
  extendedKeyUsage: string,
  subjectAltNames: JsonGeneralName[],
  options: ValidityOptions,
): Promise<IssuedCertificate> {
  // The issuer first: an unusable CA is the error to report, whatever the requested window.
  assertUsableCa(ca);
  const certificate = await buildCertificate({
    subject,
    subjectPublicKey: publicKey,
    profile: { kind: 'leaf', extendedKeyUsage, subjectAltNames },
    validity: resolveValidity(profile, options, ca.certificate.validToDate),
    issuer: ca,
  });
  const pem = certificatePem(certificate);
  return { certificate, certificatePem: pem, chainPem: pem + certificatePem(ca.certificate) };
}

function clientSubject(kind: PeerKind, id: string): Array<Record<string, string[]>> {
  return [{ O: [ORGANIZATION] }, { OU: [kind] }, { CN: [id] }];
}

/** A vehicle's certificate: SAN URI urn:fleetgate:vehicle:<id>, clientAuth, Ed25519 key. */
export async function issueDeviceCertificate(
  ca: IssuingCa,
  request: DeviceCertificateRequest,
): Promise<IssuedCertificate> {
  const uri = identityUri('vehicle', request.vehicleId);
  const publicKey = publicKeyOf(request.publicKey);
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'a device certificate requires an Ed25519 key');
  }
  const subject = clientSubject('vehicle', request.vehicleId);
  return issueLeaf(ca, 'device', subject, publicKey, OID_CLIENT_AUTH, [{ type: 'url', value: uri }], request);
}

/** A TMS partner's certificate: SAN URI urn:fleetgate:partner:<id>, clientAuth, ECDSA P-256 key. */
export async function issuePartnerCertificate(
  ca: IssuingCa,
  request: PartnerCertificateRequest,
): Promise<IssuedCertificate> {
  const uri = identityUri('partner', request.partnerId);
  const publicKey = publicKeyOf(request.publicKey);
  if (!isP256(publicKey)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'a partner certificate requires an ECDSA P-256 key');
  }
  const subject = clientSubject('partner', request.partnerId);
  return issueLeaf(
    ca,
    'partner',
    subject,
    publicKey,
    OID_CLIENT_AUTH,
    [{ type: 'url', value: uri }],
    request,
  );
}

/** The gateway's TLS server certificate: SAN DNS names + IP addresses, serverAuth, ECDSA P-256 key. */
export async function issueServerCertificate(
  ca: IssuingCa,
  request: ServerCertificateRequest,
): Promise<IssuedCertificate> {
  const dnsNames = request.dnsNames ?? DEFAULT_SERVER_DNS_NAMES;
  const ipAddresses = request.ipAddresses ?? DEFAULT_SERVER_IP_ADDRESSES;
  assertServerNames(dnsNames, ipAddresses);
  const first = dnsNames[0] ?? ipAddresses[0] ?? '';
  const publicKey = publicKeyOf(request.publicKey);
  if (!isP256(publicKey)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'a server certificate requires an ECDSA P-256 key');
  }
  const sans: JsonGeneralName[] = [
    ...dnsNames.map((value): JsonGeneralName => ({ type: 'dns', value })),
    ...ipAddresses.map((value): JsonGeneralName => ({ type: 'ip', value })),
  ];
  const subject = [{ O: [ORGANIZATION] }, { CN: [first] }];
  return issueLeaf(ca, 'server', subject, publicKey, OID_SERVER_AUTH, sans, request);
}
