/**
 * Writes the published CRLs where relying parties outside the gateway read them:
 *   DIR/pki/crl.der   the issuing intermediate's CRL, DER (RFC 5280 §5)
 *   DIR/pki/crl.pem   every live intermediate's CRL, PEM, the issuing one first — one during normal
 *                     operation, two during a CA rollover's overlap (docs/pki.md "CA rollover"), so
 *                     Mosquitto's `crlfile` (OpenSSL loads every CRL in the file) covers device
 *                     certificates of both hierarchies.
 * Each file is replaced atomically (temporary file created O_EXCL, fsync, rename, fsync of the folder),
 * 0644, and only when its content changed.
 *
 * Threat: a relying party reading a torn file mid-write (it would fail closed and refuse everyone, or
 * fail open if it ignores an unreadable CRL) — the rename is atomic.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PUBLIC_FILE_MODE, writeFileAtomic } from '../internal/files.ts';
import { pkiRoot } from '../internal/layout.ts';
import type { CrlDocument } from './crl-publisher.ts';

export function crlPaths(dataDir: string): { der: string; pem: string } {
  const dir = pkiRoot(dataDir);
  return { der: join(dir, 'crl.der'), pem: join(dir, 'crl.pem') };
}

export function crlPem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN X509 CRL-----\n${lines.join('\n')}\n-----END X509 CRL-----\n`;
}

async function unchanged(path: string, data: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(await readFile(path)).equals(data);
  } catch {
    return false;
  }
}

/** Atomically replaces `path` with `data` unless it already holds exactly it; true if it wrote. */
async function writeAtomic(path: string, data: Uint8Array): Promise<boolean> {
  if (await unchanged(path, data)) return false;
  await writeFileAtomic(path, data, PUBLIC_FILE_MODE);
  return true;
}

/** Writes crl.der (the first CRL) and crl.pem (all of them, in order); true if either file changed. */
export async function writeCrlFiles(dataDir: string, crls: readonly CrlDocument[]): Promise<boolean> {
  const [issuing] = crls;
  if (issuing === undefined) return false;
  const paths = crlPaths(dataDir);
  const der = await writeAtomic(paths.der, issuing.der);
  const pem = await writeAtomic(paths.pem, Buffer.from(crls.map((c) => c.pem).join(''), 'utf8'));
  return der || pem;
}
