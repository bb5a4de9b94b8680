/**
 * Test support for path validation: certificates and CRLs built at test time with @peculiar/x509
 * (through the module's loader) and keys generated for each run, plus raw DER for the extensions the
 * builder has no class for (name constraints, policy mappings and constraints), encoded with
 * @peculiar/asn1-x509 so the encoder is not the parser under test.
 */
import { webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn from '@peculiar/asn1-x509';
import { webCrypto, x509 } from '../../../src/pki/internal/x509-lib.ts';

type Keys = webcrypto.CryptoKeyPair;
type Extension = InstanceType<typeof x509.Extension>;
export type JsonGeneralName = { type: 'url' | 'dns' | 'ip' | 'email'; value: string };

/** The default validation time; certificates below are valid from 2025 to 2035 unless a test says. */
export const NOW = new Date('2026-06-01T00:00:00Z');
export const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

export async function ecKeys(): Promise<Keys> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as Keys;
}

export async function rsaKeys(bits: number, hash: 'SHA-1' | 'SHA-256' = 'SHA-256'): Promise<Keys> {
  return (await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash },
    true,
    ['sign', 'verify'],
  )) as Keys;
}

export interface TestCert {
  readonly der: Uint8Array;
  readonly name: string;
  readonly keys: Keys;
  readonly signingAlgorithm: Algorithm | EcdsaParams;
}

interface Algorithm {
  readonly name: string;
}
interface EcdsaParams extends Algorithm {
  readonly hash: string;
}

export interface CertSpec {
  readonly subject: string;
  /** The issuing certificate; absent for a self-signed one. */
  readonly issuer?: TestCert;
  readonly keys?: Keys;
  readonly ca?: boolean;
  readonly pathLength?: number;
  /** keyUsage flags (x509.KeyUsageFlags); null omits the extension. Default: CA → certSign|crlSign, leaf → digitalSignature. */
  readonly keyUsage?: number | null;
  readonly eku?: readonly string[];
  readonly sans?: readonly JsonGeneralName[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly extensions?: readonly Extension[];
  /** Omit basicConstraints altogether. */
  readonly noBasicConstraints?: boolean;
  readonly serialNumber?: string;
  /** Override of the issuer's signing algorithm (for example SHA-1). */
  readonly signingAlgorithm?: Algorithm | EcdsaParams;
}

let serial = 0x1000;

export async function makeCert(spec: CertSpec): Promise<TestCert> {
  const keys = spec.keys ?? (await ecKeys());
  const ca = spec.ca ?? false;
  const extensions: Extension[] = [];
  if (!spec.noBasicConstraints)
    extensions.push(new x509.BasicConstraintsExtension(ca, spec.pathLength, true));
  const ku =
    spec.keyUsage === undefined
      ? ca
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
        : x509.KeyUsageFlags.digitalSignature
      : spec.keyUsage;
  if (ku !== null) extensions.push(new x509.KeyUsagesExtension(ku, true));
  if (spec.eku) extensions.push(new x509.ExtendedKeyUsageExtension([...spec.eku], false));
  if (spec.sans) extensions.push(new x509.SubjectAlternativeNameExtension([...spec.sans], false));
  // RFC 5280 §4.2.1.1–2 (and OpenSSL's -x509_strict) want key identifiers on every certificate.
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webCrypto));
  if (spec.issuer) {
    extensions.push(
      await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.keys.publicKey, false, webCrypto),
    );
  }
  extensions.push(...(spec.extensions ?? []));
  const signer = spec.issuer?.keys ?? keys;
  const signingAlgorithm =
    spec.signingAlgorithm ??
    spec.issuer?.signingAlgorithm ??
    (keys.privateKey.algorithm.name === 'ECDSA' ? ECDSA_SHA256 : keys.privateKey.algorithm);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: spec.serialNumber ?? (serial++).toString(16),
      subject: spec.subject,
      issuer: spec.issuer?.name ?? spec.subject,
      notBefore: spec.notBefore ?? new Date('2025-01-01T00:00:00Z'),
      notAfter: spec.notAfter ?? new Date('2035-01-01T00:00:00Z'),
      signingAlgorithm,
      publicKey: keys.publicKey,
      signingKey: signer.privateKey,
      extensions,
    },
    webCrypto,
  );
  const ownAlgorithm = keys.privateKey.algorithm.name === 'ECDSA' ? ECDSA_SHA256 : keys.privateKey.algorithm;
  return { der: new Uint8Array(cert.rawData), name: spec.subject, keys, signingAlgorithm: ownAlgorithm };
}

/** root (CA, pathLen 1) → intermediate (CA, pathLen 0) → leaf (clientAuth, SAN URI) for a vehicle. */
export async function hierarchy(
  leaf: Partial<CertSpec> = {},
): Promise<{ root: TestCert; intermediate: TestCert; leaf: TestCert }> {
  const root = await makeCert({ subject: 'O=fleetgate test, CN=Root', ca: true, pathLength: 1 });
  const intermediate = await makeCert({
    subject: 'O=fleetgate test, CN=Intermediate',
    issuer: root,
    ca: true,
    pathLength: 0,
  });
  const end = await makeCert({
    subject: 'O=fleetgate test, CN=TRK-001',
    issuer: intermediate,
    eku: [OID_CLIENT_AUTH],
    sans: [{ type: 'url', value: 'urn:fleetgate:vehicle:TRK-001' }],
    ...leaf,
  });
  return { root, intermediate, leaf: end };
}

function der(value: unknown): ArrayBuffer {
  return AsnConvert.serialize(value);
}

function generalName(
  name: JsonGeneralName | { type: 'ipRange'; bytes: number[] } | { type: 'dn'; name: string },
): asn.GeneralName {
  switch (name.type) {
    case 'url':
      return new asn.GeneralName({ uniformResourceIdentifier: name.value });
    case 'dns':
      return new asn.GeneralName({ dNSName: name.value });
    case 'email':
      return new asn.GeneralName({ rfc822Name: name.value });
    case 'ip':
      return new asn.GeneralName({ iPAddress: name.value });
    case 'ipRange':
      // Built by hand: asn1-x509's string converter cannot express every address/mask.
      return AsnConvert.parse(new Uint8Array([0x87, name.bytes.length, ...name.bytes]), asn.GeneralName);
    case 'dn':
      return new asn.GeneralName({
        directoryName: AsnConvert.parse(new x509.Name(name.name).toArrayBuffer(), asn.Name),
      });
  }
}

export type ConstraintName = Parameters<typeof generalName>[0];

export function nameConstraints(permitted: ConstraintName[], excluded: ConstraintName[] = []): Extension {
  const subtrees = (names: ConstraintName[]) =>
    names.length === 0
      ? undefined
      : new asn.GeneralSubtrees(names.map((n) => new asn.GeneralSubtree({ base: generalName(n) })));
  const value = new asn.NameConstraints({});
  const p = subtrees(permitted);
  const e = subtrees(excluded);
  if (p) value.permittedSubtrees = p;
  if (e) value.excludedSubtrees = e;
  return new x509.Extension(asn.id_ce_nameConstraints, true, der(value));
}

export function certificatePolicies(oids: readonly string[]): Extension {
  const value = new asn.CertificatePolicies(
    oids.map((id) => new asn.PolicyInformation({ policyIdentifier: id })),
  );
  return new x509.Extension(asn.id_ce_certificatePolicies, false, der(value));
}

export function policyMappings(pairs: readonly (readonly [string, string])[]): Extension {
  const value = new asn.PolicyMappings(
    pairs.map(([issuerDomainPolicy, subjectDomainPolicy]) => {
      const m = new asn.PolicyMapping();
      m.issuerDomainPolicy = issuerDomainPolicy;
      m.subjectDomainPolicy = subjectDomainPolicy;
      return m;
    }),
  );
  return new x509.Extension(asn.id_ce_policyMappings, true, der(value));
}

/** An extension with an unregistered OID and an empty SEQUENCE as its value. */
export function unknownExtension(critical: boolean): Extension {
  return new x509.Extension('1.3.6.1.4.1.55555.1', critical, new Uint8Array([0x30, 0x00]));
}

export interface CrlSpec {
  readonly issuer: TestCert;
  readonly revoked?: readonly string[];
  readonly thisUpdate?: Date;
  /** null omits nextUpdate. */
  readonly nextUpdate?: Date | null;
  readonly extensions?: readonly Extension[];
  /** Sign with these keys instead of the issuer's. */
  readonly signingKeys?: Keys;
}

export async function makeCrl(spec: CrlSpec): Promise<Uint8Array> {
  const keys = spec.signingKeys ?? spec.issuer.keys;
  const params: Parameters<typeof x509.X509CrlGenerator.create>[0] = {
    issuer: spec.issuer.name,
    thisUpdate: spec.thisUpdate ?? new Date('2026-05-01T00:00:00Z'),
    signingAlgorithm: spec.issuer.signingAlgorithm,
    signingKey: keys.privateKey,
    entries: (spec.revoked ?? []).map((serialNumber) => ({
      serialNumber,
      revocationDate: new Date('2026-01-01T00:00:00Z'),
    })),
    extensions: [...(spec.extensions ?? [])],
  };
  if (spec.nextUpdate !== null) params.nextUpdate = spec.nextUpdate ?? new Date('2026-07-01T00:00:00Z');
  const crl = await x509.X509CrlGenerator.create(params, webCrypto);
  return new Uint8Array(crl.rawData);
}

/** The serial number of a certificate DER, as lower-case hex (for CRL entries). */
export function serialOf(cert: TestCert): string {
  return new x509.X509Certificate(cert.der).serialNumber.toLowerCase();
}
