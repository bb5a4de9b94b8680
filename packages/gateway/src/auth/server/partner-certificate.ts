/**
 * A partner's certificate for tls_client_auth (RFC 8705 §2.1): a fresh ECDSA P-256 key and a certificate
 * from the issuing CA with SAN URI urn:fleetgate:partner:<id>, written to DIR/pki/partners/<id>/ (key.pem
 * 0600 in a 0700 folder; cert.pem and chain.pem 0644) and recorded in the certificate inventory.
 *
 * Only pki/ca.ts loadIssuingCa and pki/issue.ts issuePartnerCertificate are called: how the CA key is held
 * (files, PKCS#11) stays the PKI's business. Each file is replaced atomically (write, then rename); the key
 * is written first, so an interrupted run leaves at worst a key without its certificate, which `fleetgate
 * init` completes rather than a certificate for a key that does not exist. The inventory record and the
 * `pki.certificate.issued` audit entry (with the certificate's SHA-256) are one transaction.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import { loadIssuingCa } from '../../pki/ca.ts';
import { assertValidFleetgateId } from '../../pki/identity.ts';
import { normaliseSerial, recordCertificate, thumbprintOf } from '../../pki/inventory.ts';
import { issuePartnerCertificate } from '../../pki/issue.ts';
import type { Store } from '../../store/store.ts';

export interface PartnerCredentials {
  /** Lower-case hex serial of the new certificate. */
  serialNumber: string;
  /** DIR/pki/partners/<id>: key.pem, cert.pem, chain.pem. */
  dir: string;
  /** The certificate these files held before, if any, and whether the current CA issued it. */
  previous?: { certificate: X509Certificate; serialNumber: string; fromCurrentCa: boolean };
}

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function partnerDir(dataDir: string, partnerId: string): string {
  assertValidFleetgateId(partnerId, 'partner');
  return join(dataDir, 'pki', 'partners', partnerId);
}

/** Issues and writes a new key and certificate for `partnerId`, replacing any there. */
export async function issuePartnerCredentials(
  deps: { dataDir: string; store: Store; audit: AuditLog; now: () => Date },
  partnerId: string,
  actor: AuditActor,
): Promise<PartnerCredentials> {
  const dir = partnerDir(deps.dataDir, partnerId);
  const certPath = join(dir, 'cert.pem');
  const before = existsSync(certPath) ? new X509Certificate(readFileSync(certPath)) : undefined;
  const ca = await loadIssuingCa(deps.dataDir);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = await issuePartnerCertificate(ca, { partnerId, publicKey: privateKey, now: deps.now() });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeAtomic(join(dir, 'key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  writeAtomic(certPath, issued.certificatePem, 0o644);
  writeAtomic(join(dir, 'chain.pem'), issued.chainPem, 0o644);
  const serialNumber = normaliseSerial(issued.certificate.serialNumber);
  const result: PartnerCredentials = { serialNumber, dir };
  if (before !== undefined) {
    const fromCurrentCa = before.checkIssued(ca.certificate) && before.verify(ca.certificate.publicKey);
    result.previous = {
      certificate: before,
      serialNumber: normaliseSerial(before.serialNumber),
      fromCurrentCa,
    };
  }
  await deps.store.transaction(async (tx) => {
    await recordCertificate(tx, issued.certificate, {
      kind: 'partner',
      subjectId: partnerId,
      issuer: ca.certificate,
    });
    if (before !== undefined && result.previous?.fromCurrentCa === true) {
      await recordCertificate(tx, before, { kind: 'partner', subjectId: partnerId, issuer: ca.certificate });
    }
    await deps.audit.appendInTx(tx, {
      class: 'pki.certificate.issued',
      actor,
      subject: { kind: 'certificate', id: serialNumber },
      outcome: 'recorded',
      details: {
        certSha256: thumbprintOf(issued.certificate),
        certificateKind: 'partner',
        subjectId: partnerId,
        notAfter: issued.certificate.validToDate.toISOString(),
      },
    });
  });
  return result;
}
