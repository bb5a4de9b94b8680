/**
 * Parses one DER CRL (RFC 5280 §5.1) into what revocation checking needs: the TBS bytes as received
 * (for the signature), issuer, thisUpdate/nextUpdate, the issuing distribution point (§5.2.5), the
 * delta/freshest markers (§5.2.4, §5.2.6), and the revoked serials keyed by their certificate issuer
 * (§5.3.3: in an indirect CRL, a certificateIssuer entry extension switches the issuer for that entry
 * and all that follow).
 *
 * Threat: a CRL is signed data from a CA but reaches us through untrusted hands; until its signature is
 * checked nothing in it counts. A CRL we cannot fully interpret is marked unusable rather than partly
 * read: an unknown critical extension on the CRL or on any entry (PKITS 4.4.8–4.4.10), a
 * certificateIssuer entry in a CRL that is not indirect, a CRL with entries but no version 2.
 * Limits: MAX_CRL_BYTES and MAX_CRL_ENTRIES.
 */
import type { AlgorithmIdentifier, DistributionPointName } from '../types.ts';
import { parseAlgorithmIdentifier } from './algorithms.ts';
import {
  bitString,
  boolean,
  contents,
  contextConstructed,
  contextPrimitive,
  DerError,
  DerReader,
  hex,
  integerBytes,
  oid,
  readWhole,
  smallInteger,
  TAG,
  type Tlv,
  time,
} from './der.ts';
import { distributionPointName, OID, reasonFlags } from './extensions.ts';
import { type DistinguishedName, parseGeneralNames, parseName } from './names.ts';

export const MAX_CRL_BYTES = 32 * 1024 * 1024;
export const MAX_CRL_ENTRIES = 1_000_000;

/** CRLReason removeFromCRL (§5.3.1): only meaningful in delta CRLs; never a revocation. */
export const REMOVE_FROM_CRL = 8;

export interface IssuingDistributionPoint {
  readonly name: DistributionPointName | undefined;
  readonly onlyContainsUserCerts: boolean;
  readonly onlyContainsCACerts: boolean;
  readonly onlySomeReasons: number | undefined;
  readonly indirectCRL: boolean;
  readonly onlyContainsAttributeCerts: boolean;
}

export interface ParsedCrl {
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly signature: Uint8Array;
  readonly issuer: DistinguishedName;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly idp: IssuingDistributionPoint | undefined;
  readonly isDelta: boolean;
  readonly hasFreshest: boolean;
  /** False when the CRL carries something we do not process (see the module comment). */
  readonly usable: boolean;
  /** Revoked entries keyed by `entryKey(issuer, serial)`; the value is the reason code, if any. */
  readonly entries: ReadonlyMap<string, number | undefined>;
}

export function entryKey(issuer: DistinguishedName, serialNumber: Uint8Array): string {
  return `${issuer.key}\u0000${hex(serialNumber)}`;
}

const KNOWN_CRL_EXTENSIONS = new Set<string>([
  OID.authorityKeyIdentifier,
  OID.issuerAltName,
  OID.crlNumber,
  OID.deltaCrlIndicator,
  OID.issuingDistributionPoint,
  OID.freshestCrl,
  OID.authorityInfoAccess,
]);
const KNOWN_ENTRY_EXTENSIONS = new Set<string>([OID.crlReason, OID.invalidityDate, OID.certificateIssuer]);

interface RawExtension {
  readonly id: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/**
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension. `allowEmpty` tolerates the empty SEQUENCE that
 * @peculiar/x509 (which our own CRL publisher uses) writes for an entry without extensions: it says
 * nothing, so reading it as "no extensions" cannot change a decision.
 */
function extensions(list: Tlv, allowEmpty = false): RawExtension[] {
  const r = contents(list);
  const out: RawExtension[] = [];
  while (r.hasMore()) {
    const e = contents(r.expect(TAG.SEQUENCE, 'Extension'));
    const id = oid(e.read());
    const criticalTlv = e.optional(TAG.BOOLEAN);
    const value = e.expect(TAG.OCTET_STRING, 'extnValue').value;
    e.end('Extension');
    if (out.some((x) => x.id === id)) throw new DerError('a CRL extension appears twice');
    out.push({ id, critical: criticalTlv ? boolean(criticalTlv) : false, value });
  }
  if (out.length === 0 && !allowEmpty) throw new DerError('empty Extensions');
  return out;
}

function issuingDistributionPoint(value: Uint8Array, issuer: DistinguishedName): IssuingDistributionPoint {
  const r = contents(readWhole(value, TAG.SEQUENCE, 'issuingDistributionPoint'));
  const nameTlv = r.optional(contextConstructed(0));
  const flag = (n: number): boolean => {
    const tlv = r.optional(contextPrimitive(n));
    return tlv ? boolean({ ...tlv, tag: TAG.BOOLEAN }) : false;
  };
  const onlyContainsUserCerts = flag(1);
  const onlyContainsCACerts = flag(2);
  const reasonsTlv = r.optional(contextPrimitive(3));
  const indirectCRL = flag(4);
  const onlyContainsAttributeCerts = flag(5);
  r.end('issuingDistributionPoint');
  return {
    name: nameTlv ? distributionPointName(nameTlv, [issuer]) : undefined,
    onlyContainsUserCerts,
    onlyContainsCACerts,
    onlySomeReasons: reasonsTlv ? reasonFlags(reasonsTlv) : undefined,
    indirectCRL,
    onlyContainsAttributeCerts,
  };
}

/** Parses `der`; throws DerError when it is not a well-formed CRL. */
export function parseCrl(der: Uint8Array): ParsedCrl {
  if (der.length > MAX_CRL_BYTES) throw new DerError('CRL too large');
  const outer = contents(readWhole(der, TAG.SEQUENCE, 'CertificateList'));
  const tbsTlv = outer.expect(TAG.SEQUENCE, 'TBSCertList');
  const signatureAlgorithm = parseAlgorithmIdentifier(outer, 'signatureAlgorithm');
  const signatureBits = bitString(outer.expect(TAG.BIT_STRING, 'signatureValue'));
  outer.end('CertificateList');

  const t = contents(tbsTlv);
  const versionTlv = t.optional(TAG.INTEGER);
  if (versionTlv && smallInteger(versionTlv, 'version') !== 1) throw new DerError('unknown CRL version');
  const inner = parseAlgorithmIdentifier(t, 'signature');
  if (Buffer.compare(inner.der, signatureAlgorithm.der) !== 0) {
    throw new DerError('TBS signature algorithm differs from the outer one');
  }
  const issuer = parseName(t.expect(TAG.SEQUENCE, 'issuer'));
  if (issuer.rdns.length === 0) throw new DerError('empty CRL issuer');
  const thisUpdate = time(t.read());
  const next = t.peekTag();
  const nextUpdate = next === TAG.UTC_TIME || next === TAG.GENERALIZED_TIME ? time(t.read()) : undefined;
  const revokedTlv = t.optional(TAG.SEQUENCE);
  const extTlv = t.optional(contextConstructed(0));
  t.end('TBSCertList');

  let usable = true;
  const crlExtensions = extTlv ? extensions(readWhole(extTlv.value, TAG.SEQUENCE, 'crlExtensions')) : [];
  if (crlExtensions.length > 0 && !versionTlv) throw new DerError('CRL extensions without version 2');
  let idp: IssuingDistributionPoint | undefined;
  let isDelta = false;
  let hasFreshest = false;
  for (const e of crlExtensions) {
    if (e.id === OID.issuingDistributionPoint) idp = issuingDistributionPoint(e.value, issuer);
    else if (e.id === OID.deltaCrlIndicator) isDelta = true;
    else if (e.id === OID.freshestCrl) hasFreshest = true;
    else if (e.critical && !KNOWN_CRL_EXTENSIONS.has(e.id)) usable = false;
  }

  const entries = new Map<string, number | undefined>();
  if (revokedTlv) {
    const r = contents(revokedTlv);
    let current = issuer;
    while (r.hasMore()) {
      const entry = contents(r.expect(TAG.SEQUENCE, 'revokedCertificate'));
      const serial = integerBytes(entry.expect(TAG.INTEGER, 'userCertificate'));
      time(entry.read());
      const entryExt = entry.optional(TAG.SEQUENCE);
      entry.end('revokedCertificate');
      let reason: number | undefined;
      if (entryExt) {
        if (!versionTlv) throw new DerError('entry extensions without version 2');
        for (const e of extensions(entryExt, true)) {
          if (e.id === OID.crlReason) {
            reason = smallInteger(
              { ...readWhole(e.value, 0x0a, 'CRLReason'), tag: TAG.INTEGER },
              'CRLReason',
            );
          } else if (e.id === OID.certificateIssuer) {
            if (!idp?.indirectCRL) usable = false;
            const names = parseGeneralNames(new DerReader(e.value).read());
            const dn = names.find((n) => n.kind === 'directory');
            if (dn?.kind === 'directory') current = dn.name;
            else usable = false;
          } else if (e.critical && !KNOWN_ENTRY_EXTENSIONS.has(e.id)) {
            usable = false;
          }
        }
      }
      entries.set(entryKey(current, serial), reason);
      if (entries.size > MAX_CRL_ENTRIES) throw new DerError('too many CRL entries');
    }
  }
  return {
    tbs: tbsTlv.bytes,
    signatureAlgorithm,
    // A signature BIT STRING with unused bits is no signature at all: keep none, so it never verifies
    // (PKITS 4.1.2 corrupts exactly this octet). The structure is otherwise well formed.
    signature: signatureBits.unusedBits === 0 ? signatureBits.bytes : new Uint8Array(0),
    issuer,
    thisUpdate,
    nextUpdate,
    idp,
    isDelta,
    hasFreshest,
    usable,
    entries,
  };
}
