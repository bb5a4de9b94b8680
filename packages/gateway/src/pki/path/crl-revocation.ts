/**
 * A RevocationCheck backed by CRLs, following RFC 5280 §6.3.3: for each of the certificate's
 * distribution points (or the issuer itself when it has none), use every CRL that is in scope (issuing
 * distribution point name, onlyContainsUserCerts/CACerts/AttributeCerts, §6.3.3 (b)), current at the
 * validation time (thisUpdate ≤ time ≤ nextUpdate; no nextUpdate = not usable), fully understood, and
 * signed by a key allowed to sign it (§6.3.3 (f)); the certificate is 'revoked' when any of them lists
 * it, 'good' when together they cover every reason (§6.3.3 (d), onlySomeReasons), otherwise 'unknown'.
 *
 * Keys allowed to sign a CRL: the issuing CA's key; the key of another certificate in the validated
 * path with the CRL issuer's name (a CA that rolled over its key, PKITS 4.5); or the key of a
 * `crlSigners` certificate with that name, which must itself validate to the same trust anchor for any
 * purpose and not be revoked (checked with these same CRLs, two levels deep at most). In every case the
 * key's certificate must allow cRLSign when it has keyUsage.
 *
 * Not processed, and therefore never 'good': delta CRLs (a delta CRL in scope, or a complete CRL that
 * points to one with freshestCRL, makes the answer 'unknown'). Threat: a stale, forged, mis-scoped or
 * partial CRL taken as proof that a certificate is good. CRLs that do not parse are ignored (they prove
 * nothing); a CRL is never trusted before its signature verifies.
 */
import { isProblem, signatureScheme, verifySignature } from './internal/algorithms.ts';
import { bytesEqual } from './internal/der.ts';
import { ALL_REASONS } from './internal/extensions.ts';
import { type DistinguishedName, type GeneralName, generalNamesMatch } from './internal/names.ts';
import { parseCertificate } from './internal/parse-certificate.ts';
import { entryKey, type ParsedCrl, parseCrl, REMOVE_FROM_CRL } from './internal/parse-crl.ts';
import type {
  DistributionPoint,
  DistributionPointName,
  PathCertificate,
  RevocationCheck,
  RevocationContext,
  RevocationStatus,
} from './types.ts';
import { validatePath } from './validate.ts';

export interface CrlRevocationOptions {
  /** Separate CRL-signing certificates (RFC 5280 §6.3.3 (f)); each is validated before use. */
  readonly crlSigners?: readonly Uint8Array[];
}

/** A certificate without cRLDistributionPoints is covered by its issuer's full CRLs. */
const DEFAULT_POINT: DistributionPoint = {};
const MAX_SIGNER_DEPTH = 2;

function allowsCrlSign(cert: PathCertificate): boolean {
  return cert.keyUsage === undefined || cert.keyUsage.cRLSign;
}

function pointNames(name: DistributionPointName): GeneralName[] {
  return [
    ...(name.fullName ?? []),
    ...(name.relativeName ?? []).map((dn) => ({ kind: 'directory' as const, name: dn })),
  ];
}

function anyMatch(a: readonly GeneralName[], b: readonly GeneralName[]): boolean {
  return a.some((x) => b.some((y) => generalNamesMatch(x, y)));
}

/** §6.3.3 (b)(2): whether `crl` covers `cert` through distribution point `dp`. */
function inScope(crl: ParsedCrl, dp: DistributionPoint, cert: PathCertificate): boolean {
  const idp = crl.idp;
  if (idp === undefined) return true;
  if (idp.name !== undefined) {
    const names = pointNames(idp.name);
    if (dp.name !== undefined) {
      if (!anyMatch(names, pointNames(dp.name))) return false;
    } else if (dp.crlIssuer !== undefined) {
      if (!anyMatch(names, dp.crlIssuer)) return false;
    } else {
      return false;
    }
  }
  const isCa = cert.basicConstraints?.ca === true;
  if (idp.onlyContainsUserCerts && isCa) return false;
  if (idp.onlyContainsCACerts && !isCa) return false;
  return !idp.onlyContainsAttributeCerts;
}

function current(crl: ParsedCrl, time: Date): boolean {
  return crl.usable && crl.thisUpdate <= time && crl.nextUpdate !== undefined && time <= crl.nextUpdate;
}

/**
 * Builds a RevocationCheck over `crls` (DER). CRLs are parsed once, here; ones that do not parse are
 * dropped. The check never throws.
 */
export function crlRevocationChecker(
  crls: readonly Uint8Array[],
  options: CrlRevocationOptions = {},
): RevocationCheck {
  const parsed: ParsedCrl[] = [];
  for (const der of crls) {
    try {
      parsed.push(parseCrl(der));
    } catch {
      // A CRL that does not parse proves nothing; coverage is decided by the CRLs that do.
    }
  }
  const signers: PathCertificate[] = [];
  for (const der of options.crlSigners ?? []) {
    try {
      signers.push(parseCertificate(der));
    } catch {
      // Same: an unparseable signer certificate authorises nothing.
    }
  }
  let depth = 0;

  const verifiesWith = (crl: ParsedCrl, key: PathCertificate): boolean => {
    if (!allowsCrlSign(key) || key.publicKey === undefined || key.subject.key !== crl.issuer.key)
      return false;
    const scheme = signatureScheme(crl.signatureAlgorithm);
    return !isProblem(scheme) && verifySignature(scheme, key.publicKey, crl.tbs, crl.signature);
  };

  /** A separate signer is trusted when it validates, by itself, up to the same trust anchor. */
  const signerValid = (signer: PathCertificate, context: RevocationContext): boolean => {
    if (depth >= MAX_SIGNER_DEPTH) return false;
    const anchor = context.path[context.path.length - 1] as PathCertificate;
    for (let j = context.position + 1; j < context.path.length; j++) {
      const above = context.path[j] as PathCertificate;
      if (above.subject.key !== signer.issuer.key) continue;
      depth++;
      try {
        const result = validatePath({
          chain: [signer.der, ...context.path.slice(j, -1).map((c) => c.der)],
          trustAnchors: [anchor.der],
          time: context.time,
          purpose: 'any',
          revocation: check,
          maxChainLength: 16,
        });
        if (result.ok) return true;
      } finally {
        depth--;
      }
    }
    return false;
  };

  /**
   * The issuer's key, or the key of a certificate above `cert` in the path (never `cert` itself or one
   * below it: a certificate cannot vouch for its own status), or a separately validated signer other
   * than `cert`.
   */
  const signedByAllowedKey = (
    crl: ParsedCrl,
    cert: PathCertificate,
    issuer: PathCertificate,
    context: RevocationContext,
  ): boolean => {
    if (verifiesWith(crl, issuer)) return true;
    const above = context.path.slice(context.position + 1);
    if (above.some((c) => c !== issuer && verifiesWith(crl, c))) return true;
    return signers.some(
      (s) => !bytesEqual(s.der, cert.der) && verifiesWith(crl, s) && signerValid(s, context),
    );
  };

  const check = (
    cert: PathCertificate,
    issuer: PathCertificate,
    context: RevocationContext,
  ): RevocationStatus => {
    let covered = 0;
    let sawDelta = false;
    for (const dp of cert.crlDistributionPoints ?? [DEFAULT_POINT]) {
      const crlIssuers: readonly DistinguishedName[] = dp.crlIssuer
        ? dp.crlIssuer.flatMap((n) => (n.kind === 'directory' ? [n.name] : []))
        : [cert.issuer];
      for (const crl of parsed) {
        if (!crlIssuers.some((name) => name.key === crl.issuer.key)) continue;
        if (crl.issuer.key !== cert.issuer.key && crl.idp?.indirectCRL !== true) continue;
        if (!inScope(crl, dp, cert) || !current(crl, context.time)) continue;
        if (!signedByAllowedKey(crl, cert, issuer, context)) continue;
        const key = entryKey(cert.issuer, cert.serialNumber);
        if (crl.entries.has(key) && crl.entries.get(key) !== REMOVE_FROM_CRL) return 'revoked';
        if (crl.isDelta || crl.hasFreshest) sawDelta = true;
        if (crl.isDelta) continue;
        covered |= (crl.idp?.onlySomeReasons ?? ALL_REASONS) & (dp.reasons ?? ALL_REASONS);
      }
    }
    return (covered & ALL_REASONS) === ALL_REASONS && !sawDelta ? 'good' : 'unknown';
  };

  return (cert, issuer, context) => {
    try {
      return check(cert, issuer, context);
    } catch {
      return 'unknown';
    }
  };
}
