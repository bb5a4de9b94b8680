/**
 * Per-tenant issuing CAs (docs/pki.md "Hierarchy"): with `pki.tenantIssuingCas` listing tenants,
 * `fleetgate init` certifies one intermediate per tenant under the root (same CA profile as the default
 * intermediate, name constraints included: RFC 5280 §4.2.1.9, §4.2.1.10), kept under
 * DIR/pki/tenants/<tenant>/ (cert.pem + key.json through the configured key provider). EST issuance for
 * a vehicle registered to such a tenant (table vehicle_registrations) signs with that tenant's CA; every
 * other vehicle keeps the default intermediate. Each tenant CA signs its own CRL and certifies its own
 * OCSP responder (revocation/authorities.ts).
 *
 * The data directory is the source of truth: a tenant has its own CA exactly when its folder holds a
 * certificate, so a process never needs the config to pick the issuer.
 *
 * Threat: one tenant's compromised issuing key minting certificates for another tenant's vehicles goes
 * unnoticed across the whole fleet — separate CAs bound the blast radius to one tenant and make its
 * revocation (a CRL per CA) independent; tenant names become path segments only after validation.
 */
import type { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Queryable } from '../../store/store.ts';
import type { IssuingCa } from '../ca.ts';
import { PkiError } from '../errors.ts';
import { assertValidFleetgateId } from '../identity.ts';
import { readCertificateIfExists } from '../internal/files.ts';
import { type CaPaths, pkiRoot } from '../internal/layout.ts';
import { loadCaFolder } from '../keys/load-ca.ts';

/** DIR/pki/tenants: one folder per tenant issuing CA. */
export function tenantCasRoot(dataDir: string): string {
  return join(pkiRoot(dataDir), 'tenants');
}

/** DIR/pki/tenants/<tenant>/ (cert.pem, key.json); the tenant name is validated first. */
export function tenantCaPaths(dataDir: string, tenant: string): CaPaths {
  assertValidFleetgateId(tenant, 'tenant');
  const dir = join(tenantCasRoot(dataDir), tenant);
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

export interface TenantCaCertificate {
  readonly tenant: string;
  readonly certificate: X509Certificate;
}

/** Every tenant CA certificate under DIR/pki/tenants/, sorted by tenant (no key is opened). */
export async function readTenantCaCertificates(dataDir: string): Promise<TenantCaCertificate[]> {
  const root = tenantCasRoot(dataDir);
  if (!existsSync(root)) return [];
  const found: TenantCaCertificate[] = [];
  for (const tenant of readdirSync(root).sort()) {
    let paths: CaPaths;
    try {
      paths = tenantCaPaths(dataDir, tenant);
    } catch {
      continue; // not a tenant folder fleetgate made
    }
    const certificate = await readCertificateIfExists(paths.cert);
    if (certificate !== undefined) found.push({ tenant, certificate });
  }
  return found;
}

/** Opens a tenant's issuing CA (key through its provider); undefined when the tenant has none. */
export async function loadTenantIssuingCa(dataDir: string, tenant: string): Promise<IssuingCa | undefined> {
  const paths = tenantCaPaths(dataDir, tenant);
  if (!existsSync(paths.cert)) return undefined;
  const ca = await loadCaFolder(paths.dir, { dataDir });
  if (ca === undefined) {
    throw new PkiError('PKI_CA_UNAVAILABLE', `the issuing CA of tenant ${tenant} is incomplete`);
  }
  return ca;
}

/** The registered tenant of a vehicle (vehicle_registrations); undefined when it has no row. */
export async function registeredTenant(q: Queryable, vehicleId: string): Promise<string | undefined> {
  const [row] = await q.query<{ tenant: string }>(
    'SELECT tenant FROM vehicle_registrations WHERE vehicle_id = $1',
    [vehicleId],
  );
  return row?.tenant;
}

/**
 * The CA that issues a vehicle's certificates: its registered tenant's CA when that tenant has one,
 * otherwise undefined (the caller uses the default intermediate, loadIssuingCa).
 */
export async function tenantIssuingCaFor(
  q: Queryable,
  dataDir: string,
  vehicleId: string,
): Promise<{ tenant: string; ca: IssuingCa } | undefined> {
  const tenant = await registeredTenant(q, vehicleId);
  if (tenant === undefined) return undefined;
  let ca: IssuingCa | undefined;
  try {
    ca = await loadTenantIssuingCa(dataDir, tenant);
  } catch (error) {
    if (error instanceof PkiError && error.code === 'PKI_INVALID_ID') return undefined;
    throw error;
  }
  return ca === undefined ? undefined : { tenant, ca };
}
