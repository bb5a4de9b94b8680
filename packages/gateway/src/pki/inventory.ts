/**
 * The certificate inventory (table `certificates`): what the fleetgate CA issued, to whom, and its
 * status. Revocation (CRL, OCSP, connection enforcement), rotation and the `device list|show` commands
 * read it. Recording is idempotent: the same certificate recorded twice is one row.
 */
import type { X509Certificate } from 'node:crypto';
import { toHex } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import type { Queryable } from '../store/store.ts';

export type CertificateKind = 'vehicle' | 'partner' | 'server' | 'ca';

export interface InventoryEntry {
  serialNumber: string;
  issuerSha256: string;
  kind: CertificateKind;
  subjectId: string;
  thumbprintSha256: string;
  keyId: string;
  notBefore: Date;
  notAfter: Date;
  status: 'active' | 'revoked';
  revokedAt: Date | null;
  revocationReason: string | null;
  replacedBy: string | null;
  issuedAt: Date;
  pem: string;
}

interface Row {
  serial_number: string;
  issuer_sha256: string;
  kind: CertificateKind;
  subject_id: string;
  thumbprint_sha256: string;
  key_id: string;
  not_before: Date;
  not_after: Date;
  status: 'active' | 'revoked';
  revoked_at: Date | null;
  revocation_reason: string | null;
  replaced_by: string | null;
  issued_at: Date;
  pem: string;
  [key: string]: unknown;
}

const COLUMNS =
  'serial_number, issuer_sha256, kind, subject_id, thumbprint_sha256, key_id, not_before, not_after, status, revoked_at, revocation_reason, replaced_by, issued_at, pem';

/** Lower-case hex serial without leading zero octets, as node:crypto renders it. */
export function normaliseSerial(serial: string): string {
  const hex = serial.toLowerCase().replace(/^(00)+(?=..)/, '');
  return hex.length % 2 === 1 ? `0${hex}` : hex;
}

export function thumbprintOf(certificate: X509Certificate): string {
  return toHex(sha256(certificate.raw));
}

export async function recordCertificate(
  q: Queryable,
  certificate: X509Certificate,
  meta: { kind: CertificateKind; subjectId: string; issuer: X509Certificate },
): Promise<void> {
  await q.query(
    `INSERT INTO certificates (serial_number, issuer_sha256, kind, subject_id, thumbprint_sha256, key_id, not_before,
       not_after, pem) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
    [
      normaliseSerial(certificate.serialNumber),
      thumbprintOf(meta.issuer),
      meta.kind,
      meta.subjectId,
      thumbprintOf(certificate),
      keyIdOf(certificate.publicKey),
      certificate.validFromDate,
      certificate.validToDate,
      certificate.toString(),
    ],
  );
}

const toEntry = (r: Row): InventoryEntry => ({
  serialNumber: r.serial_number,
  issuerSha256: r.issuer_sha256,
  kind: r.kind,
  subjectId: r.subject_id,
  thumbprintSha256: r.thumbprint_sha256,
  keyId: r.key_id,
  notBefore: r.not_before,
  notAfter: r.not_after,
  status: r.status,
  revokedAt: r.revoked_at,
  revocationReason: r.revocation_reason,
  replacedBy: r.replaced_by,
  issuedAt: r.issued_at,
  pem: r.pem,
});

export async function getCertificate(
  q: Queryable,
  serialNumber: string,
): Promise<InventoryEntry | undefined> {
  const [row] = await q.query<Row>(`SELECT ${COLUMNS} FROM certificates WHERE serial_number = $1`, [
    normaliseSerial(serialNumber),
  ]);
  return row === undefined ? undefined : toEntry(row);
}

export async function listCertificates(
  q: Queryable,
  filter: { kind?: CertificateKind; subjectId?: string; status?: 'active' | 'revoked' } = {},
): Promise<InventoryEntry[]> {
  const where: string[] = [];
  const params: string[] = [];
  for (const [column, value] of [
    ['kind', filter.kind],
    ['subject_id', filter.subjectId],
    ['status', filter.status],
  ] as const) {
    if (value !== undefined) {
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
  }
  const rows = await q.query<Row>(
    `SELECT ${COLUMNS} FROM certificates ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY issued_at, serial_number`,
    params,
  );
  return rows.map(toEntry);
}
