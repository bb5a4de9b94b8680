/**
 * Builds and signs one certificate for a fleetgate profile (RFC 5280 §4.1 TBSCertificate, §4.2.1
 * extensions). The profiles are fixed here so no caller can assemble an inconsistent one:
 *   CA:   basicConstraints CA:TRUE + pathLen (critical, §4.2.1.9), keyUsage keyCertSign|cRLSign
 *         (critical, §4.2.1.3), SKI (§4.2.1.2), AKI unless self-signed (§4.2.1.1); issuing
 *         intermediates also nameConstraints (critical, §4.2.1.10; internal/name-constraints.ts).
 *   leaf: basicConstraints CA:FALSE (critical), keyUsage digitalSignature (critical), one EKU
 *         (§4.2.1.12), SAN (§4.2.1.6; non-critical because the subject DN is never empty), SKI, AKI.
 * All certificates are signed ecdsa-with-SHA256 by a P-256 CA key: an in-memory KeyObject (tests,
 * foreign CAs, legacy data directories) or a CaSigner from a key provider (pki/keys/), through the
 * delegating WebCrypto in x509-lib.ts — the builder never sees a provider-held private key.
 *
 * Threats: a CA key that does not match its certificate, or a certificate that is not a CA, used as an
 * issuer (refused); a builder bug producing a certificate that does not verify (every certificate is
 * re-parsed with node:crypto and its signature checked against the issuer key before it is returned);
 * the issuer name re-encoded differently from the issuer's subject (the subject DER is reused as is).
 */
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { JsonGeneralName, JsonNameParams } from '@peculiar/x509';
import type { IssuingCa } from '../ca.ts';
import { PkiError } from '../errors.ts';
import { type CaSigner, isCaSigner } from '../keys/signer.ts';
import { nameConstraintsExtension, type PermittedServerNames } from './name-constraints.ts';
import type { Validity } from './validity.ts';
import { ECDSA_WITH_SHA256, ecdsaSigningKey, randomSerialHex, spkiDer, webCrypto, x509 } from './x509-lib.ts';

export const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export type Profile =
  | {
      readonly kind: 'ca';
      readonly pathLength: number;
      /** Critical nameConstraints (RFC 5280 §4.2.1.10) for an issuing intermediate; name-constraints.ts. */
      readonly permitted?: PermittedServerNames;
    }
  | { readonly kind: 'leaf'; readonly extendedKeyUsage: string; readonly subjectAltNames: JsonGeneralName[] };

export interface BuildParams {
  readonly subject: JsonNameParams;
  readonly subjectPublicKey: KeyObject | CaSigner;
  readonly profile: Profile;
  readonly validity: Validity;
  /** The issuing CA; absent for a self-signed CA, which is then signed by `selfSigningKey`. */
  readonly issuer: IssuingCa | { readonly selfSigningKey: KeyObject | CaSigner };
}

/** The public half of a key (a private KeyObject is accepted; only its public part is used). */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** The public key of a CA key, whoever holds the private half. */
export function caPublicKey(key: KeyObject | CaSigner): KeyObject {
  return isCaSigner(key) ? key.publicKey : publicKeyOf(key);
}

/** True for a P-256 private KeyObject or a CaSigner (whose providers only hold P-256 keys). */
export function isUsableCaKey(key: KeyObject | CaSigner): boolean {
  return isCaSigner(key) ? isP256(key.publicKey) : key.type === 'private' && isP256(key);
}

/** Refuses an issuer that is not a P-256 CA whose key matches its certificate. */
export function assertUsableCa(ca: IssuingCa): void {
  if (!isUsableCaKey(ca.privateKey)) {
    throw new PkiError('PKI_CA_UNAVAILABLE', 'CA key is not a P-256 private key');
  }
  if (!ca.certificate.ca) throw new PkiError('PKI_CA_UNAVAILABLE', 'issuer certificate is not a CA');
  const matches = isCaSigner(ca.privateKey)
    ? ca.certificate.publicKey
        .export({ format: 'der', type: 'spki' })
        .equals(spkiDer(ca.privateKey.publicKey))
    : ca.certificate.checkPrivateKey(ca.privateKey);
  if (!matches) throw new PkiError('PKI_CA_UNAVAILABLE', 'CA key does not match the CA certificate');
}

// RFC 1123 host names: LDH labels of 1-63 characters, no leading or trailing hyphen, 253 in all.
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Server SANs: RFC 1123 host names (no wildcards) and IPv4/IPv6 literals, at least one in all. */
export function assertServerNames(dnsNames: readonly string[], ipAddresses: readonly string[]): void {
  for (const name of dnsNames) {
    if (name.length > 253 || !name.split('.').every((label) => DNS_LABEL.test(label))) {
      throw new PkiError('PKI_INVALID_ARGUMENT', 'server DNS names must be RFC 1123 host names');
    }
  }
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0)
      throw new PkiError('PKI_INVALID_ARGUMENT', 'server IP addresses must be IPv4 or IPv6');
  }
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'a server certificate needs a DNS name or an IP address');
  }
}

type X509Name = InstanceType<typeof x509.Name>;

// Parsing the issuer with @peculiar/x509 costs about 1 ms; bootstrap issues thousands of leaves under one
// CA object, so its subject name (reused byte for byte as the leaf's issuer) and SKI are cached per
// certificate object, as is the WebCrypto form of each CA key. Weak maps: nothing outlives its CA.
const issuerCache = new WeakMap<X509Certificate, { name: X509Name; keyId: string }>();
const signingKeyCache = new WeakMap<KeyObject | CaSigner, ReturnType<typeof ecdsaSigningKey>>();

function issuerFields(certificate: X509Certificate): { name: X509Name; keyId: string } {
  let fields = issuerCache.get(certificate);
  if (fields === undefined) {
    const parsed = new x509.X509Certificate(new Uint8Array(certificate.raw));
    const ski = parsed.getExtension(x509.SubjectKeyIdentifierExtension);
    if (ski === null) throw new PkiError('PKI_CA_UNAVAILABLE', 'CA certificate has no SKI');
    fields = { name: parsed.subjectName, keyId: ski.keyId };
    issuerCache.set(certificate, fields);
  }
  return fields;
}

function webSigningKey(privateKey: KeyObject | CaSigner): ReturnType<typeof ecdsaSigningKey> {
  let key = signingKeyCache.get(privateKey);
  if (key === undefined) {
    key = ecdsaSigningKey(privateKey);
    signingKeyCache.set(privateKey, key);
  }
  return key;
}

export async function buildCertificate(params: BuildParams): Promise<X509Certificate> {
  const selfSigned = 'selfSigningKey' in params.issuer;
  const signingKey = selfSigned ? params.issuer.selfSigningKey : params.issuer.privateKey;
  if (selfSigned) {
    if (!isUsableCaKey(signingKey)) {
      throw new PkiError('PKI_INVALID_ARGUMENT', 'a CA key must be a P-256 private key');
    }
  } else {
    assertUsableCa(params.issuer);
  }
  const subjectPublicKey = isCaSigner(params.subjectPublicKey)
    ? params.subjectPublicKey.publicKey
    : publicKeyOf(params.subjectPublicKey);
  const subjectSpki = spkiDer(subjectPublicKey);
  const subjectName = new x509.Name(params.subject);
  const extensions: InstanceType<typeof x509.Extension>[] = [];

  if (params.profile.kind === 'ca') {
    extensions.push(
      new x509.BasicConstraintsExtension(true, params.profile.pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    );
    if (params.profile.permitted !== undefined) {
      extensions.push(nameConstraintsExtension(params.profile.permitted));
    }
  } else {
    extensions.push(
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([params.profile.extendedKeyUsage], false),
      new x509.SubjectAlternativeNameExtension(params.profile.subjectAltNames, false),
    );
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(subjectSpki, false, webCrypto));

  let issuerName = subjectName;
  let verifyKey = subjectPublicKey;
  if (!selfSigned) {
    const issuer = issuerFields(params.issuer.certificate);
    extensions.push(new x509.AuthorityKeyIdentifierExtension(issuer.keyId, false));
    issuerName = issuer.name;
    verifyKey = params.issuer.certificate.publicKey;
  }

  const built = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: subjectName,
      issuer: issuerName,
      notBefore: params.validity.notBefore,
      notAfter: params.validity.notAfter,
      publicKey: subjectSpki,
      signingKey: webSigningKey(signingKey),
      signingAlgorithm: ECDSA_WITH_SHA256,
      extensions,
    },
    webCrypto,
  );
  const certificate = new X509Certificate(new Uint8Array(built.rawData));
  if (!certificate.verify(verifyKey)) {
    throw new PkiError('PKI_MALFORMED_CERTIFICATE', 'freshly built certificate does not verify');
  }
  return certificate;
}
