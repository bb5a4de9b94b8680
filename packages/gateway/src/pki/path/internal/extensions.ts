/**
 * Decoders for the RFC 5280 §4.2 certificate extensions path validation processes, and the shared
 * DistributionPointName / ReasonFlags structures CRL processing reads (§4.2.1.13, §5.2.5).
 *
 * Threat: an extension we recognise but decode loosely is worse than one we do not recognise, because
 * its critical bit is then honoured by code that misread it. Each decoder reads exactly the DER its
 * ASN.1 allows (trailing data, empty lists and out-of-range values throw DerError) and says so in a
 * comment where RFC 5280 forbids a form we therefore refuse. Limits: 64 policies, 64 mappings, 64 key
 * purposes, 256 subtrees per name-constraints list, 32 distribution points.
 */
import type { DistributionPoint, DistributionPointName, KeyUsageBits, NameConstraints } from '../types.ts';
import {
  bit,
  bitString,
  boolean,
  contents,
  contextConstructed,
  contextPrimitive,
  DerError,
  oid,
  readWhole,
  smallInteger,
  TAG,
  type Tlv,
} from './der.ts';
import {
  appendRdn,
  type DistinguishedName,
  type GeneralName,
  parseGeneralName,
  parseGeneralNameList,
  parseGeneralNames,
  rdnFromSet,
} from './names.ts';

export const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  crlReason: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  certificateIssuer: '2.5.29.29',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  authorityKeyIdentifier: '2.5.29.35',
  policyConstraints: '2.5.29.36',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  inhibitAnyPolicy: '2.5.29.54',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
} as const;

export const ANY_POLICY = '2.5.29.32.0';
export const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
/** ReasonFlags bits 1–8: every reason a CRL can be scoped to (RFC 5280 §4.2.1.13). */
export const ALL_REASONS = 0x1fe;

const MAX_LIST = 64;
const MAX_SUBTREES = 256;
const MAX_DISTRIBUTION_POINTS = 32;

function sequenceOf(value: Uint8Array, what: string, max: number): Tlv[] {
  const r = contents(readWhole(value, TAG.SEQUENCE, what));
  const items: Tlv[] = [];
  while (r.hasMore()) {
    items.push(r.read());
    if (items.length > max) throw new DerError(`${what}: too many entries`);
  }
  if (items.length === 0) throw new DerError(`${what}: empty`);
  return items;
}

/** §4.2.1.9: cA DEFAULT FALSE (an explicit FALSE is tolerated), pathLenConstraint INTEGER (0..MAX). */
export function basicConstraints(value: Uint8Array): { ca: boolean; pathLength: number | undefined } {
  const r = contents(readWhole(value, TAG.SEQUENCE, 'basicConstraints'));
  const caTlv = r.optional(TAG.BOOLEAN);
  const ca = caTlv ? boolean(caTlv) : false;
  const lenTlv = r.optional(TAG.INTEGER);
  const pathLength = lenTlv ? smallInteger(lenTlv, 'pathLenConstraint') : undefined;
  r.end('basicConstraints');
  return { ca, pathLength };
}

/** §4.2.1.3: a named-bit BIT STRING with at least one bit set. */
export function keyUsage(value: Uint8Array): KeyUsageBits {
  const bits = bitString(readWhole(value, TAG.BIT_STRING, 'keyUsage'));
  if (bits.bytes.every((b) => b === 0)) throw new DerError('keyUsage has no bit set');
  return {
    digitalSignature: bit(bits, 0),
    nonRepudiation: bit(bits, 1),
    keyEncipherment: bit(bits, 2),
    dataEncipherment: bit(bits, 3),
    keyAgreement: bit(bits, 4),
    keyCertSign: bit(bits, 5),
    cRLSign: bit(bits, 6),
    encipherOnly: bit(bits, 7),
    decipherOnly: bit(bits, 8),
  };
}

/** §4.2.1.12: SEQUENCE SIZE (1..MAX) OF KeyPurposeId. */
export function extendedKeyUsage(value: Uint8Array): string[] {
  return sequenceOf(value, 'extKeyUsage', MAX_LIST).map(oid);
}

/** §4.2.1.6: GeneralNames; an iPAddress must be 4 or 16 octets. */
export function subjectAltName(value: Uint8Array): GeneralName[] {
  const names = parseGeneralNames(readWhole(value, TAG.SEQUENCE, 'subjectAltName'));
  for (const name of names) {
    if (name.kind === 'ip' && name.bytes.length !== 4 && name.bytes.length !== 16) {
      throw new DerError('iPAddress is neither IPv4 nor IPv6');
    }
  }
  return names;
}

/** §4.2.1.4: policy OIDs in order, each at most once (qualifiers are read past, not interpreted). */
export function certificatePolicies(value: Uint8Array): string[] {
  const policies = sequenceOf(value, 'certificatePolicies', MAX_LIST).map((info) => {
    const r = contents(info);
    const id = oid(r.read());
    r.optional(TAG.SEQUENCE);
    r.end('PolicyInformation');
    return id;
  });
  if (new Set(policies).size !== policies.length) throw new DerError('certificatePolicies repeats a policy');
  return policies;
}

/** §4.2.1.5: SEQUENCE SIZE (1..MAX) OF SEQUENCE { issuerDomainPolicy, subjectDomainPolicy }. */
export function policyMappings(
  value: Uint8Array,
): { issuerDomainPolicy: string; subjectDomainPolicy: string }[] {
  return sequenceOf(value, 'policyMappings', MAX_LIST).map((mapping) => {
    const r = contents(mapping);
    const issuerDomainPolicy = oid(r.read());
    const subjectDomainPolicy = oid(r.read());
    r.end('PolicyMapping');
    return { issuerDomainPolicy, subjectDomainPolicy };
  });
}

function skipCerts(tlv: Tlv | undefined, what: string): number | undefined {
  return tlv === undefined ? undefined : smallInteger({ ...tlv, tag: TAG.INTEGER }, what);
}

/** §4.2.1.11: at least one of requireExplicitPolicy [0] and inhibitPolicyMapping [1]. */
export function policyConstraints(value: Uint8Array): {
  requireExplicitPolicy: number | undefined;
  inhibitPolicyMapping: number | undefined;
} {
  const r = contents(readWhole(value, TAG.SEQUENCE, 'policyConstraints'));
  const requireExplicitPolicy = skipCerts(r.optional(contextPrimitive(0)), 'requireExplicitPolicy');
  const inhibitPolicyMapping = skipCerts(r.optional(contextPrimitive(1)), 'inhibitPolicyMapping');
  r.end('policyConstraints');
  if (requireExplicitPolicy === undefined && inhibitPolicyMapping === undefined) {
    throw new DerError('policyConstraints is empty');
  }
  return { requireExplicitPolicy, inhibitPolicyMapping };
}

/** §4.2.1.14: SkipCerts. */
export function inhibitAnyPolicy(value: Uint8Array): number {
  return smallInteger(readWhole(value, TAG.INTEGER, 'inhibitAnyPolicy'), 'inhibitAnyPolicy');
}

/** An iPAddress constraint: 4 or 16 address octets followed by a contiguous mask (RFC 4632 CIDR). */
function isCidr(bytes: Uint8Array): boolean {
  if (bytes.length !== 8 && bytes.length !== 32) return false;
  let seenZero = false;
  for (const octet of bytes.subarray(bytes.length / 2)) {
    for (let b = 7; b >= 0; b--) {
      const set = (octet >> b) & 1;
      if (set && seenZero) return false;
      if (!set) seenZero = true;
    }
  }
  return true;
}

function subtrees(tlv: Tlv): { names: GeneralName[]; unsupported: boolean } {
  const r = contents(tlv);
  const names: GeneralName[] = [];
  let unsupported = false;
  while (r.hasMore()) {
    const subtree = contents(r.expect(TAG.SEQUENCE, 'GeneralSubtree'));
    names.push(parseGeneralName(subtree.read()));
    const minimum = subtree.optional(contextPrimitive(0));
    // minimum MUST be zero and maximum MUST be absent (§4.2.1.10); anything else is not processed.
    if (minimum && smallInteger({ ...minimum, tag: TAG.INTEGER }, 'minimum') !== 0) unsupported = true;
    if (subtree.optional(contextPrimitive(1))) unsupported = true;
    subtree.end('GeneralSubtree');
    if (names.length > MAX_SUBTREES) throw new DerError('too many subtrees');
  }
  if (names.length === 0) throw new DerError('empty GeneralSubtrees');
  for (const name of names) {
    if (name.kind === 'ip' && !isCidr(name.bytes))
      throw new DerError('iPAddress constraint is not address+mask');
  }
  return { names, unsupported };
}

/** §4.2.1.10: permittedSubtrees [0] and/or excludedSubtrees [1]; an empty sequence is refused. */
export function nameConstraints(value: Uint8Array): NameConstraints {
  const r = contents(readWhole(value, TAG.SEQUENCE, 'nameConstraints'));
  const permitted = r.optional(contextConstructed(0));
  const excluded = r.optional(contextConstructed(1));
  r.end('nameConstraints');
  if (!permitted && !excluded) throw new DerError('nameConstraints is empty');
  const p = permitted ? subtrees(permitted) : { names: [], unsupported: false };
  const e = excluded ? subtrees(excluded) : { names: [], unsupported: false };
  return { permitted: p.names, excluded: e.names, unsupported: p.unsupported || e.unsupported };
}

/** ReasonFlags as a bit mask, bit n of the mask = named bit n. */
export function reasonFlags(tlv: Tlv): number {
  const bits = bitString({ ...tlv, tag: TAG.BIT_STRING });
  let mask = 0;
  for (let n = 0; n <= 8; n++) if (bit(bits, n)) mask |= 1 << n;
  return mask;
}

/**
 * DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] RDN },
 * with the relative form resolved against each of `relativeTo` (the CRL issuer's possible names).
 */
export function distributionPointName(
  tlv: Tlv,
  relativeTo: readonly DistinguishedName[],
): DistributionPointName {
  const r = contents(tlv);
  const choice = r.read();
  r.end('DistributionPointName');
  if (choice.tag === contextConstructed(0)) return { fullName: parseGeneralNameList(contents(choice)) };
  if (choice.tag === contextConstructed(1)) {
    const rdn = rdnFromSet(choice);
    return { relativeName: relativeTo.map((base) => appendRdn(base, rdn)) };
  }
  throw new DerError('DistributionPointName: unknown choice');
}

/** §4.2.1.13: the relative name is relative to cRLIssuer when present, else to the certificate issuer. */
export function crlDistributionPoints(
  value: Uint8Array,
  certificateIssuer: DistinguishedName,
): DistributionPoint[] {
  return sequenceOf(value, 'cRLDistributionPoints', MAX_DISTRIBUTION_POINTS).map((dp) => {
    const r = contents(dp);
    const nameTlv = r.optional(contextConstructed(0));
    const reasonsTlv = r.optional(contextPrimitive(1));
    const issuerTlv = r.optional(contextConstructed(2));
    r.end('DistributionPoint');
    const crlIssuer = issuerTlv ? parseGeneralNameList(contents(issuerTlv)) : undefined;
    if (!nameTlv && !crlIssuer) throw new DerError('DistributionPoint has neither name nor cRLIssuer');
    const bases = crlIssuer
      ? crlIssuer.flatMap((n) => (n.kind === 'directory' ? [n.name] : []))
      : [certificateIssuer];
    const point: {
      name?: DistributionPointName;
      reasons?: number;
      crlIssuer?: readonly GeneralName[];
    } = {};
    if (nameTlv) point.name = distributionPointName(nameTlv, bases);
    if (reasonsTlv) point.reasons = reasonFlags(reasonsTlv);
    if (crlIssuer) point.crlIssuer = crlIssuer;
    return point;
  });
}
