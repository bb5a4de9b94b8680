/**
 * Records every certificate found in DIR/pki (CAs, server, partners, devices) in the inventory, so a
 * data directory created by `init` (or by tests) and its store agree. Idempotent and cheap to repeat:
 * run at every gateway start.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Queryable } from '../store/store.ts';
import { type CertificateKind, recordCertificate } from './inventory.ts';

function read(path: string): X509Certificate | undefined {
  return existsSync(path) ? new X509Certificate(readFileSync(path)) : undefined;
}

export async function syncInventoryFromDataDir(q: Queryable, dataDir: string): Promise<number> {
  const pki = join(dataDir, 'pki');
  const root = read(join(pki, 'root', 'cert.pem'));
  const intermediate = read(join(pki, 'intermediate', 'cert.pem'));
  if (root === undefined || intermediate === undefined) return 0;
  let recorded = 0;
  const record = async (
    cert: X509Certificate | undefined,
    kind: CertificateKind,
    subjectId: string,
    issuer: X509Certificate,
  ) => {
    if (cert === undefined) return;
    await recordCertificate(q, cert, { kind, subjectId, issuer });
    recorded += 1;
  };
  await record(root, 'ca', 'root', root);
  await record(intermediate, 'ca', 'intermediate', root);
  await record(read(join(pki, 'server', 'cert.pem')), 'server', 'gateway', intermediate);
  // Per-tenant issuing CAs (tenants/tenant-ca.ts), as subject 'intermediate:<tenant>'.
  const tenants = join(pki, 'tenants');
  if (existsSync(tenants)) {
    for (const tenant of readdirSync(tenants)) {
      await record(read(join(tenants, tenant, 'cert.pem')), 'ca', `intermediate:${tenant}`, root);
    }
  }
  for (const [folder, kind] of [
    ['partners', 'partner'],
    ['devices', 'vehicle'],
  ] as const) {
    const dir = join(pki, folder);
    if (!existsSync(dir)) continue;
    for (const id of readdirSync(dir)) await record(read(join(dir, id, 'cert.pem')), kind, id, intermediate);
  }
  return recorded;
}
