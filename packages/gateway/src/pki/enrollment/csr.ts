/**
 * Reads an EST enrollment request: the base64 body of RFC 7030 §4.2.1 (RFC 8951 §3: whitespace allowed,
 * Content-Transfer-Encoding ignored) holding a PKCS#10 CertificationRequest (RFC 2986 §4), and checks it
 * in this order, failing closed with a coded GatewayError at the first failure:
 *   1. base64 and DER shape — strict DER, one outer SEQUENCE of exactly three elements, no trailing
 *      bytes, at most `maxBytes` (EST_REQUEST_MALFORMED);
 *   2. signature algorithm and key — Ed25519 (RFC 8410) only: device certificates certify the key the
 *      vehicle signs telemetry with, and nothing else is verified there (EST_CSR_KEY_NOT_ALLOWED);
 *   3. proof of possession — the self-signature over the certificationRequestInfo bytes *as received*
 *      (EST_CSR_SIGNATURE_INVALID);
 *   4. names, only after the signature holds — every subject CN and every SAN (from the PKCS#9
 *      extensionRequest) is returned for `assertCsrNamesVehicle`.
 * Nothing else in the request is honoured: the CA sets subject, validity, key usage, EKU and SAN from
 * its own profile (pki/issue.ts), so a request for CA:TRUE or extra usages has no effect.
 *
 * Threat: a hostile request from anyone holding a token (or none). Limits: `maxBytes` of DER, 64
 * elements per constructed element, 16 attributes, 32 extensions; every parse failure is a refusal.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Extensions, id_ce_subjectAltName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { GatewayError } from '../../errors/gateway-error.ts';
import { identityUri } from '../identity.ts';
import {
  bytesOf,
  children,
  contentOf,
  DerError,
  readWhole,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_SEQUENCE,
} from './internal/der.ts';

export const OID_ED25519 = '1.3.101.112';
const OID_COMMON_NAME = '2.5.4.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const MAX_ATTRIBUTES = 16;
const MAX_EXTENSIONS = 32;

export interface EnrollmentCsr {
  /** The Ed25519 public key the request proves possession of. */
  readonly publicKey: KeyObject;
  /** keyIdOf(publicKey): SHA-256 of the SPKI, as in the inventory's key_id. */
  readonly keyId: string;
  /** Every commonName value in the subject. */
  readonly commonNames: readonly string[];
  /** Every uniformResourceIdentifier in a requested subjectAltName. */
  readonly sanUris: readonly string[];
  /** SAN entries of any other type (DNS, IP, e-mail, …). */
  readonly otherSanCount: number;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function malformed(detail: string, cause?: unknown): GatewayError {
  return new GatewayError('EST_REQUEST_MALFORMED', detail, cause === undefined ? undefined : { cause });
}

/** RFC 7030 bodies are base64 (RFC 4648 §4) with optional line breaks; anything else is refused. */
export function decodeBase64Body(body: string, maxBytes: number): Uint8Array {
  const compact = body.replace(/[\r\n\t ]/g, '');
  if (compact.length === 0) throw malformed('empty body');
  if (compact.length > Math.ceil(maxBytes / 3) * 4) throw malformed(`request larger than ${maxBytes} bytes`);
  if (!BASE64.test(compact)) throw malformed('body is not base64');
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** Steps 1–4 above; see the module comment. */
export function parseEnrollmentCsr(der: Uint8Array, maxBytes: number): EnrollmentCsr {
  if (der.byteLength > maxBytes) throw malformed(`request larger than ${maxBytes} bytes`);
  let info: Uint8Array;
  let spki: Uint8Array;
  let signature: Uint8Array;
  let parsed: CertificationRequest;
  try {
    const outer = readWhole(der, TAG_SEQUENCE);
    const [infoEl, algEl, sigEl, ...extra] = children(der, outer);
    if (infoEl?.tag !== TAG_SEQUENCE || algEl?.tag !== TAG_SEQUENCE || sigEl?.tag !== TAG_BIT_STRING) {
      throw new DerError('not a CertificationRequest');
    }
    if (extra.length > 0) throw new DerError('extra elements in CertificationRequest');
    const [versionEl, , spkiEl] = children(der, infoEl);
    if (versionEl?.tag !== TAG_INTEGER || spkiEl?.tag !== TAG_SEQUENCE) {
      throw new DerError('not a CertificationRequestInfo');
    }
    const version = contentOf(der, versionEl);
    if (version.byteLength !== 1 || version[0] !== 0) throw new DerError('version is not v1(0)');
    info = bytesOf(der, infoEl);
    spki = bytesOf(der, spkiEl);
    const bits = contentOf(der, sigEl);
    if (bits[0] !== 0) throw new DerError('signature BIT STRING has unused bits');
    signature = bits.subarray(1);
    parsed = AsnConvert.parse(der, CertificationRequest);
  } catch (cause) {
    if (cause instanceof GatewayError) throw cause;
    throw malformed('not a DER PKCS#10 certification request', cause);
  }

  const algorithm = parsed.signatureAlgorithm;
  if (algorithm.algorithm !== OID_ED25519 || algorithm.parameters != null) {
    throw new GatewayError('EST_CSR_KEY_NOT_ALLOWED', 'the request must be signed with Ed25519');
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new GatewayError('EST_CSR_KEY_NOT_ALLOWED', 'the request key is not a usable public key', {
      cause,
    });
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new GatewayError('EST_CSR_KEY_NOT_ALLOWED', 'only Ed25519 keys are certified for vehicles');
  }
  if (signature.byteLength !== 64 || !verify(null, info, publicKey, signature)) {
    throw new GatewayError('EST_CSR_SIGNATURE_INVALID');
  }

  try {
    return {
      publicKey,
      keyId: keyIdOf(publicKey),
      commonNames: commonNamesOf(parsed),
      ...subjectAltNamesOf(parsed),
    };
  } catch (cause) {
    if (cause instanceof GatewayError) throw cause;
    throw malformed('unreadable subject or attributes', cause);
  }
}

function commonNamesOf(csr: CertificationRequest): string[] {
  const names: string[] = [];
  for (const rdn of csr.certificationRequestInfo.subject) {
    for (const attribute of rdn) {
      if (attribute.type === OID_COMMON_NAME) names.push(attribute.value.toString());
    }
  }
  return names;
}

function subjectAltNamesOf(csr: CertificationRequest): { sanUris: string[]; otherSanCount: number } {
  const attributes = csr.certificationRequestInfo.attributes ?? [];
  if (attributes.length > MAX_ATTRIBUTES) throw malformed('too many attributes');
  const sanUris: string[] = [];
  let otherSanCount = 0;
  let sanExtensions = 0;
  for (const attribute of attributes) {
    if (attribute.type !== OID_EXTENSION_REQUEST) continue; // e.g. challengePassword: not honoured
    for (const value of attribute.values) {
      const extensions = AsnConvert.parse(value, Extensions);
      if (extensions.length > MAX_EXTENSIONS) throw malformed('too many requested extensions');
      for (const extension of extensions) {
        if (extension.extnID !== id_ce_subjectAltName) continue; // the CA's profile decides the rest
        sanExtensions += 1;
        for (const name of AsnConvert.parse(extension.extnValue, SubjectAlternativeName)) {
          if (name.uniformResourceIdentifier !== undefined) sanUris.push(name.uniformResourceIdentifier);
          else otherSanCount += 1;
        }
      }
    }
  }
  if (sanExtensions > 1) {
    throw new GatewayError('EST_CSR_IDENTITY_MISMATCH', 'more than one subjectAltName requested');
  }
  return { sanUris, otherSanCount };
}

/**
 * The request may name the vehicle or name nothing (the CA then names it): at most one CN, equal to
 * the id; SANs either absent or exactly the one URI urn:fleetgate:vehicle:<id>.
 */
export function assertCsrNamesVehicle(csr: EnrollmentCsr, vehicleId: string): void {
  const uri = identityUri('vehicle', vehicleId);
  const cnOk =
    csr.commonNames.length === 0 || (csr.commonNames.length === 1 && csr.commonNames[0] === vehicleId);
  const sanOk =
    csr.otherSanCount === 0 &&
    (csr.sanUris.length === 0 || (csr.sanUris.length === 1 && csr.sanUris[0] === uri));
  if (!cnOk || !sanOk) {
    throw new GatewayError(
      'EST_CSR_IDENTITY_MISMATCH',
      'the request must name only the authorised vehicle (or name nothing)',
    );
  }
}
