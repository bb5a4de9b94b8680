/**
 * Parses one DER certificate (RFC 5280 §4.1) into a PathCertificate: the TBS bytes as received (for
 * signature verification), names, validity, the subject key, and every extension path validation
 * processes (§4.2), decoded strictly.
 *
 * Threat: the certificate is attacker-supplied. Anything that is not the DER RFC 5280 allows — trailing
 * bytes, a version without its extensions rule, an extension listed twice (§4.2), a TBS signature
 * algorithm that differs from the outer one (§4.1.1.2), an empty issuer — is refused as malformed,
 * before any field is trusted. Limits: MAX_CERTIFICATE_BYTES, 64 extensions, serial numbers of at most
 * 21 octets (20 plus a sign octet; PKITS 4.4.16 uses the full 20).
 */
import type { PathCertificate } from '../types.ts';
import { isProblem, parseAlgorithmIdentifier, subjectPublicKey } from './algorithms.ts';
import {
  bitString,
  boolean,
  contents,
  contextConstructed,
  contextPrimitive,
  DerError,
  type DerReader,
  integerBytes,
  oid,
  readWhole,
  smallInteger,
  TAG,
  time,
} from './der.ts';
import * as ext from './extensions.ts';
import { parseName } from './names.ts';

/** Larger certificates are refused before parsing; real ones are a few KiB at most. */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;
const MAX_EXTENSIONS = 64;
const MAX_SERIAL_OCTETS = 21;

/** Extensions that are read and, where they matter, enforced; any other critical one is refused. */
const RECOGNISED = new Set<string>([
  ext.OID.subjectKeyIdentifier,
  ext.OID.authorityKeyIdentifier,
  ext.OID.keyUsage,
  ext.OID.subjectAltName,
  ext.OID.issuerAltName,
  ext.OID.basicConstraints,
  ext.OID.nameConstraints,
  ext.OID.crlDistributionPoints,
  ext.OID.certificatePolicies,
  ext.OID.policyMappings,
  ext.OID.policyConstraints,
  ext.OID.extKeyUsage,
  ext.OID.inhibitAnyPolicy,
  ext.OID.authorityInfoAccess,
]);

interface RawExtension {
  readonly critical: boolean;
  readonly value: Uint8Array;
}

function readExtensions(tlv: ReturnType<DerReader['read']>): Map<string, RawExtension> {
  const wrapper = contents(tlv);
  const list = wrapper.expect(TAG.SEQUENCE, 'Extensions');
  wrapper.end('[3] Extensions');
  const r = contents(list);
  const map = new Map<string, RawExtension>();
  while (r.hasMore()) {
    const e = contents(r.expect(TAG.SEQUENCE, 'Extension'));
    const id = oid(e.read());
    const criticalTlv = e.optional(TAG.BOOLEAN);
    const critical = criticalTlv ? boolean(criticalTlv) : false;
    const value = e.expect(TAG.OCTET_STRING, 'extnValue').value;
    e.end('Extension');
    if (map.has(id)) throw new DerError('an extension appears twice');
    map.set(id, { critical, value });
    if (map.size > MAX_EXTENSIONS) throw new DerError('too many extensions');
  }
  if (map.size === 0) throw new DerError('empty Extensions');
  return map;
}

/** Parses `der`; throws DerError (or a node:crypto error, which callers treat alike) when malformed. */
export function parseCertificate(der: Uint8Array): PathCertificate {
  if (der.length > MAX_CERTIFICATE_BYTES) throw new DerError('certificate too large');
  const outer = contents(readWhole(der, TAG.SEQUENCE, 'Certificate'));
  const tbsTlv = outer.expect(TAG.SEQUENCE, 'TBSCertificate');
  const signatureAlgorithm = parseAlgorithmIdentifier(outer, 'signatureAlgorithm');
  const signatureBits = bitString(outer.expect(TAG.BIT_STRING, 'signatureValue'));
  outer.end('Certificate');

  const t = contents(tbsTlv);
  const versionTlv = t.optional(contextConstructed(0));
  let version: 1 | 2 | 3 = 1;
  if (versionTlv) {
    const v = contents(versionTlv);
    const n = smallInteger(v.expect(TAG.INTEGER, 'version'), 'version');
    v.end('version');
    if (n > 2) throw new DerError('unknown certificate version');
    version = (n + 1) as 1 | 2 | 3;
  }
  const serialNumber = integerBytes(t.expect(TAG.INTEGER, 'serialNumber'));
  if (serialNumber.length > MAX_SERIAL_OCTETS) throw new DerError('serial number too long');
  const innerAlgorithm = parseAlgorithmIdentifier(t, 'signature');
  if (Buffer.compare(innerAlgorithm.der, signatureAlgorithm.der) !== 0) {
    throw new DerError('TBS signature algorithm differs from the outer one');
  }
  const issuer = parseName(t.expect(TAG.SEQUENCE, 'issuer'));
  if (issuer.rdns.length === 0) throw new DerError('empty issuer name');
  const validity = contents(t.expect(TAG.SEQUENCE, 'validity'));
  const notBefore = time(validity.read());
  const notAfter = time(validity.read());
  validity.end('validity');
  const subject = parseName(t.expect(TAG.SEQUENCE, 'subject'));
  const spkiTlv = t.expect(TAG.SEQUENCE, 'subjectPublicKeyInfo');
  const spkiReader = contents(spkiTlv);
  const keyAlgorithm = parseAlgorithmIdentifier(spkiReader, 'subjectPublicKeyInfo.algorithm');
  if (bitString(spkiReader.expect(TAG.BIT_STRING, 'subjectPublicKey')).unusedBits !== 0) {
    throw new DerError('subjectPublicKey has unused bits');
  }
  spkiReader.end('subjectPublicKeyInfo');
  const issuerUid = t.optional(contextPrimitive(1));
  const subjectUid = t.optional(contextPrimitive(2));
  const extensionsTlv = t.optional(contextConstructed(3));
  t.end('TBSCertificate');
  if ((issuerUid || subjectUid) && version === 1)
    throw new DerError('unique identifiers in a v1 certificate');
  if (extensionsTlv && version !== 3) throw new DerError('extensions in a pre-v3 certificate');

  const extensions = extensionsTlv ? readExtensions(extensionsTlv) : new Map<string, RawExtension>();
  const value = (id: string): Uint8Array | undefined => extensions.get(id)?.value;
  const decode = <T>(id: string, decoder: (v: Uint8Array) => T): T | undefined => {
    const v = value(id);
    return v === undefined ? undefined : decoder(v);
  };
  const unknownCriticalExtensions = [...extensions]
    .filter(([id, e]) => e.critical && !RECOGNISED.has(id))
    .map(([id]) => id);
  const key = subjectPublicKey(spkiTlv.bytes, keyAlgorithm);

  return {
    der,
    version,
    serialNumber,
    issuer,
    subject,
    notBefore,
    notAfter,
    spki: spkiTlv.bytes,
    publicKey: isProblem(key) ? undefined : key,
    keyProblem: isProblem(key) ? key : undefined,
    tbs: tbsTlv.bytes,
    signatureAlgorithm,
    // A signature BIT STRING with unused bits is no signature at all: keep none, so it never verifies
    // (PKITS 4.1.2 corrupts exactly this octet). The structure is otherwise well formed.
    signature: signatureBits.unusedBits === 0 ? signatureBits.bytes : new Uint8Array(0),
    selfIssued: issuer.key === subject.key,
    basicConstraints: decode(ext.OID.basicConstraints, ext.basicConstraints),
    keyUsage: decode(ext.OID.keyUsage, ext.keyUsage),
    extendedKeyUsage: decode(ext.OID.extKeyUsage, ext.extendedKeyUsage),
    subjectAltNames: decode(ext.OID.subjectAltName, ext.subjectAltName),
    nameConstraints: decode(ext.OID.nameConstraints, ext.nameConstraints),
    certificatePolicies: decode(ext.OID.certificatePolicies, ext.certificatePolicies),
    policyMappings: decode(ext.OID.policyMappings, ext.policyMappings),
    policyConstraints: decode(ext.OID.policyConstraints, ext.policyConstraints),
    inhibitAnyPolicy: decode(ext.OID.inhibitAnyPolicy, ext.inhibitAnyPolicy),
    crlDistributionPoints: decode(ext.OID.crlDistributionPoints, (v) => ext.crlDistributionPoints(v, issuer)),
    unknownCriticalExtensions,
  };
}
