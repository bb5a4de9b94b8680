/**
 * The CAs revocation speaks for: the issuing intermediate (DIR/pki/intermediate/) and, during a CA
 * rollover's overlap (docs/pki.md "CA rollover"), the previous one (DIR/pki/previous/intermediate/),
 * whose device certificates are still trusted and must still be revocable — each intermediate signs its
 * own CRL and certifies its own OCSP responder (RFC 5280 §5, RFC 6960 §4.2.2.2). Per-tenant issuing CAs
 * (DIR/pki/tenants/<tenant>/, role 'tenant:<tenant>') are authorities too, after those two.
 *
 * Certificates are read from the data directory; keys only through the PKI's own loader
 * (loadCaHierarchy, which goes through the configured key provider). A key that cannot be opened leaves
 * that authority without `ca`: its stored CRL is still served, not reissued, and the caller retries.
 * `fingerprint` changes exactly when the set of intermediates does, so a running gateway notices a
 * rollover (or its completion) without a restart.
 *
 * Threat: revoking a certificate of the previous hierarchy and publishing it nowhere (its relying parties
 * read the previous intermediate's CRL), or signing one hierarchy's CRL with the other's key (each CA is
 * checked against the certificate it was read with).
 */
import type { X509Certificate } from 'node:crypto';
import type { IssuingCa } from '../ca.ts';
import { readCertificateIfExists } from '../internal/files.ts';
import { thumbprintOf } from '../inventory.ts';
import { loadCaHierarchy } from '../rollover/hierarchy.ts';
import { currentCaPaths, previousCaPaths } from '../rollover/layout.ts';
import { loadTenantIssuingCa, readTenantCaCertificates } from '../tenants/tenant-ca.ts';

/** 'tenant:<tenant>' is a per-tenant issuing CA (tenants/tenant-ca.ts). */
export type AuthorityRole = 'issuing' | 'previous' | `tenant:${string}`;

export interface RevocationAuthority {
  readonly role: AuthorityRole;
  readonly issuer: X509Certificate;
  readonly issuerSha256: string;
  /** The CA with its key; undefined when the key could not be opened (see `keyError`). */
  readonly ca: IssuingCa | undefined;
}

export interface Authorities {
  /** Issuing first. Empty before `fleetgate init`. */
  readonly list: readonly RevocationAuthority[];
  /** Role and thumbprint of each intermediate: equal fingerprints, same authorities. */
  readonly fingerprint: string;
  /** Why a CA key is missing, when one is. */
  readonly keyError: unknown;
}

export async function readAuthorities(dataDir: string): Promise<Authorities> {
  const certificates: Array<[AuthorityRole, X509Certificate]> = [];
  const issuing = await readCertificateIfExists(currentCaPaths(dataDir, 'intermediate').cert);
  if (issuing !== undefined) certificates.push(['issuing', issuing]);
  const previous = await readCertificateIfExists(previousCaPaths(dataDir, 'intermediate').cert);
  if (previous !== undefined && issuing !== undefined) certificates.push(['previous', previous]);
  const tenantCerts = issuing === undefined ? [] : await readTenantCaCertificates(dataDir);
  for (const t of tenantCerts) certificates.push([`tenant:${t.tenant}`, t.certificate]);
  const fingerprint = certificates.map(([role, cert]) => `${role}:${thumbprintOf(cert)}`).join(',');
  if (certificates.length === 0) return { list: [], fingerprint, keyError: undefined };

  let keyError: unknown;
  const keys = new Map<AuthorityRole, IssuingCa | undefined>();
  try {
    const hierarchy = await loadCaHierarchy(dataDir);
    keys.set('issuing', hierarchy.issuing).set('previous', hierarchy.previous);
  } catch (error) {
    keyError = error;
  }
  for (const t of tenantCerts) {
    try {
      keys.set(`tenant:${t.tenant}`, await loadTenantIssuingCa(dataDir, t.tenant));
    } catch (error) {
      keyError ??= error;
    }
  }
  const list = certificates.map(([role, issuer]): RevocationAuthority => {
    const ca = keys.get(role);
    // The key must be the one of the certificate read above (a swap may have happened in between).
    const matches = ca !== undefined && thumbprintOf(ca.certificate) === thumbprintOf(issuer);
    if (ca !== undefined && !matches) keyError ??= new Error(`the ${role} CA changed while it was read`);
    return { role, issuer, issuerSha256: thumbprintOf(issuer), ca: matches ? ca : undefined };
  });
  if (keyError === undefined && list.some((a) => a.ca === undefined)) {
    keyError = new Error('a CA key is missing');
  }
  return { list, fingerprint, keyError };
}
