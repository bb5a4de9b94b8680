/**
 * Where the PKI lives under a data directory (DIR/pki/…). One definition, shared by bootstrap and
 * loadIssuingCa. Ids are validated (FLEETGATE_ID_PATTERN) before they become path segments, so no id can
 * climb out of partners/ or devices/.
 */
import { join, resolve } from 'node:path';
import { assertValidFleetgateId } from '../identity.ts';

export interface CaPaths {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

export interface LeafPaths extends CaPaths {
  /** Leaf certificate followed by the intermediate: what a TLS peer presents. */
  readonly chain: string;
}

export function pkiRoot(dataDir: string): string {
  return join(resolve(dataDir), 'pki');
}

export function caPaths(dataDir: string, which: 'root' | 'intermediate'): CaPaths {
  const dir = join(pkiRoot(dataDir), which);
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

export function caBundlePath(dataDir: string): string {
  return join(pkiRoot(dataDir), 'ca.pem');
}

function leafAt(dir: string): LeafPaths {
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), chain: join(dir, 'chain.pem') };
}

export function serverPaths(dataDir: string): LeafPaths {
  return leafAt(join(pkiRoot(dataDir), 'server'));
}

export function partnerPaths(dataDir: string, partnerId: string): LeafPaths {
  assertValidFleetgateId(partnerId, 'partner');
  return leafAt(join(pkiRoot(dataDir), 'partners', partnerId));
}

export function devicePaths(dataDir: string, vehicleId: string): LeafPaths {
  assertValidFleetgateId(vehicleId, 'vehicle');
  return leafAt(join(pkiRoot(dataDir), 'devices', vehicleId));
}
