/**
 * X.501 distinguished names and RFC 5280 §4.2.1.6 GeneralNames, parsed from DER, and the name
 * comparison RFC 5280 §7.1 asks for: attribute values in string types are compared after RFC 4518
 * string preparation (here: Unicode NFKC, case folding, insignificant-space removal); other values are
 * compared as DER. RDNs are compared as sets of attribute values and in order, so a name whose RDNs are
 * reordered is a different name (PKITS 4.3.2).
 *
 * Threat: name chaining is what stops a certificate from claiming an issuer it does not have; too
 * lenient a comparison merges distinct names, too strict a one breaks legitimate re-encodings
 * (PrintableString → UTF8String rollover, PKITS 4.3.10). Limits: 64 RDNs per name, 16 attribute values
 * per RDN, 1024 names per GeneralNames.
 */
import {
  contents,
  contextConstructed,
  contextPrimitive,
  DerError,
  DerReader,
  hex,
  ia5,
  oid,
  stringValue,
  TAG,
  type Tlv,
} from './der.ts';

export const OID_EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

const MAX_RDNS = 64;
const MAX_AVAS_PER_RDN = 16;
const MAX_GENERAL_NAMES = 1024;

export interface AttributeValue {
  readonly type: string;
  /** The prepared text of a string-typed value; undefined for other types. */
  readonly text: string | undefined;
  /** The value's full DER (tag, length, contents). */
  readonly der: Uint8Array;
  /** Comparison key: type, then prepared text or DER hex. */
  readonly key: string;
}

export interface Rdn {
  readonly values: readonly AttributeValue[];
  readonly key: string;
}

export interface DistinguishedName {
  readonly der: Uint8Array;
  readonly rdns: readonly Rdn[];
  /** Equal keys ⇔ equal names under RFC 5280 §7.1. */
  readonly key: string;
}

/** RFC 4518 string preparation, approximated: NFKC, lower case, runs of spaces folded, ends trimmed. */
export function prepareString(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

function attributeValue(tlv: Tlv): AttributeValue {
  const r = contents(tlv);
  const type = oid(r.read());
  const value = r.read();
  r.end('AttributeTypeAndValue');
  const raw = stringValue(value);
  const text = raw === undefined ? undefined : prepareString(raw);
  const key = `${type}=${text === undefined ? `#${hex(value.bytes)}` : `'${text}`}`;
  return { type, text, der: value.bytes, key };
}

/** The contents of a SET OF AttributeTypeAndValue (a RelativeDistinguishedName). */
export function rdnFromSet(set: Tlv): Rdn {
  const r = contents(set);
  const values: AttributeValue[] = [];
  while (r.hasMore()) {
    values.push(attributeValue(r.expect(TAG.SEQUENCE, 'AttributeTypeAndValue')));
    if (values.length > MAX_AVAS_PER_RDN) throw new DerError('too many values in an RDN');
  }
  if (values.length === 0) throw new DerError('empty RDN');
  const key = values
    .map((v) => v.key)
    .sort()
    .join('\u0000+');
  return { values, key };
}

function nameKey(rdns: readonly Rdn[]): string {
  return JSON.stringify(rdns.map((rdn) => rdn.key));
}

/** A Name (RDNSequence) from its SEQUENCE TLV. */
export function parseName(tlv: Tlv): DistinguishedName {
  if (tlv.tag !== TAG.SEQUENCE) throw new DerError('Name: expected SEQUENCE');
  const r = contents(tlv);
  const rdns: Rdn[] = [];
  while (r.hasMore()) {
    rdns.push(rdnFromSet(r.expect(TAG.SET, 'RelativeDistinguishedName')));
    if (rdns.length > MAX_RDNS) throw new DerError('too many RDNs');
  }
  return { der: tlv.bytes, rdns, key: nameKey(rdns) };
}

/** `base` followed by one more RDN (RFC 5280 §4.2.1.13 nameRelativeToCRLIssuer). */
export function appendRdn(base: DistinguishedName, rdn: Rdn): DistinguishedName {
  const rdns = [...base.rdns, rdn];
  return { der: new Uint8Array(0), rdns, key: nameKey(rdns) };
}

export function namesEqual(a: DistinguishedName, b: DistinguishedName): boolean {
  return a.key === b.key;
}

/** True when `name` lies in the subtree rooted at `base` (RFC 5280 §4.2.1.10 directoryName). */
export function nameWithin(name: DistinguishedName, base: DistinguishedName): boolean {
  if (base.rdns.length > name.rdns.length) return false;
  return base.rdns.every((rdn, i) => rdn.key === name.rdns[i]?.key);
}

/** Every emailAddress attribute value in a name (RFC 5280 §4.2.1.6: legacy e-mail in the subject DN). */
export function emailAddresses(name: DistinguishedName): string[] {
  const out: string[] = [];
  for (const rdn of name.rdns) {
    for (const value of rdn.values) {
      if (value.type !== OID_EMAIL_ADDRESS) continue;
      // Kept raw (not prepared): rfc822 constraint matching has its own case rules.
      const reader = new DerReader(value.der);
      const text = stringValue(reader.read());
      if (text === undefined) throw new DerError('emailAddress is not a string');
      out.push(text);
    }
  }
  return out;
}

export type GeneralName =
  | { readonly kind: 'otherName'; readonly der: Uint8Array }
  | { readonly kind: 'rfc822'; readonly value: string }
  | { readonly kind: 'dns'; readonly value: string }
  | { readonly kind: 'x400'; readonly der: Uint8Array }
  | { readonly kind: 'directory'; readonly name: DistinguishedName }
  | { readonly kind: 'ediParty'; readonly der: Uint8Array }
  | { readonly kind: 'uri'; readonly value: string }
  | { readonly kind: 'ip'; readonly bytes: Uint8Array }
  | { readonly kind: 'registeredId'; readonly oid: string };

export type GeneralNameKind = GeneralName['kind'];

/** One GeneralName CHOICE (RFC 5280 §4.2.1.6; the tags are IMPLICIT except directoryName). */
export function parseGeneralName(tlv: Tlv): GeneralName {
  switch (tlv.tag) {
    case contextConstructed(0):
      return { kind: 'otherName', der: tlv.bytes };
    case contextPrimitive(1):
      return { kind: 'rfc822', value: ia5(tlv) };
    case contextPrimitive(2):
      return { kind: 'dns', value: ia5(tlv) };
    case contextConstructed(3):
      return { kind: 'x400', der: tlv.bytes };
    case contextConstructed(4): {
      const r = contents(tlv);
      const name = parseName(r.expect(TAG.SEQUENCE, 'directoryName'));
      r.end('directoryName');
      return { kind: 'directory', name };
    }
    case contextConstructed(5):
      return { kind: 'ediParty', der: tlv.bytes };
    case contextPrimitive(6):
      return { kind: 'uri', value: ia5(tlv) };
    case contextPrimitive(7):
      return { kind: 'ip', bytes: tlv.value };
    case contextPrimitive(8):
      return { kind: 'registeredId', oid: oid({ ...tlv, tag: TAG.OID }) };
    default:
      throw new DerError('GeneralName: unknown choice');
  }
}

/** The GeneralName elements inside `reader` until its end (GeneralNames contents), at least one. */
export function parseGeneralNameList(reader: DerReader): GeneralName[] {
  const names: GeneralName[] = [];
  while (reader.hasMore()) {
    names.push(parseGeneralName(reader.read()));
    if (names.length > MAX_GENERAL_NAMES) throw new DerError('too many GeneralNames');
  }
  if (names.length === 0) throw new DerError('empty GeneralNames');
  return names;
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName. */
export function parseGeneralNames(tlv: Tlv): GeneralName[] {
  if (tlv.tag !== TAG.SEQUENCE) throw new DerError('GeneralNames: expected SEQUENCE');
  return parseGeneralNameList(contents(tlv));
}

/** Equality of two GeneralNames for distribution-point matching (RFC 5280 §6.3.3 (b)(2)(i)). */
export function generalNamesMatch(a: GeneralName, b: GeneralName): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'directory':
      return b.kind === 'directory' && namesEqual(a.name, b.name);
    case 'rfc822':
    case 'dns':
    case 'uri':
      return (b.kind === 'rfc822' || b.kind === 'dns' || b.kind === 'uri') && a.value === b.value;
    case 'ip':
      return b.kind === 'ip' && hex(a.bytes) === hex(b.bytes);
    case 'registeredId':
      return b.kind === 'registeredId' && a.oid === b.oid;
    default:
      return 'der' in b && hex(a.der) === hex(b.der);
  }
}
