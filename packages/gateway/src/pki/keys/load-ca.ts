/**
 * Loads one CA folder (cert.pem + its key, whatever holds it: ca-key.ts) as an IssuingCa, checking that
 * the certificate is a CA and that the key is the one it certifies (RFC 5280 §4.2.1.9; fail closed with
 * PKI_CA_UNAVAILABLE otherwise). Used for the issuing intermediate (loadIssuingCa), for the previous
 * hierarchy during a rollover and for the roots when a rollover certifies a new intermediate.
 *
 * Opening a provider key costs a scrypt derivation (file) or a token login and a test signature
 * (PKCS#11), so a loaded CA is kept per folder and reused while neither file changes (the cache key is
 * the certificate's bytes and the key document's SHA-256). A rollover or a migration changes the files
 * and so the next load opens the new key. Legacy plaintext keys are cheap to parse and are not cached.
 *
 * Threat: a stale CA after a rollover (the cache is keyed by file content, never by path alone).
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { IssuingCa } from '../ca.ts';
import { assertUsableCa } from '../internal/build.ts';
import { readCertificateIfExists } from '../internal/files.ts';
import { keyDocumentPath, openCaKey } from './ca-key.ts';
import { readKeyDocument } from './document.ts';
import type { SecretContext } from './secret.ts';

const cache = new Map<string, { stamp: string; ca: Promise<IssuingCa | undefined> }>();

function stampOf(certificate: X509Certificate, keyDigest: string): string {
  return `${createHash('sha256').update(certificate.raw).digest('hex')}:${keyDigest}`;
}

/** The CA in `caDir` (cert.pem + key.json or legacy key.pem), or undefined if either is missing. */
export async function loadCaFolder(caDir: string, context: SecretContext): Promise<IssuingCa | undefined> {
  const certificate = await readCertificateIfExists(join(caDir, 'cert.pem'));
  if (certificate === undefined) return undefined;
  const document = await readKeyDocument(keyDocumentPath(caDir));
  if (document !== undefined) {
    const stamp = stampOf(certificate, document.digest);
    const hit = cache.get(caDir);
    if (hit !== undefined && hit.stamp === stamp) return hit.ca;
    const ca = open(caDir, certificate, context);
    cache.set(caDir, { stamp, ca });
    ca.catch(() => {
      if (cache.get(caDir)?.ca === ca) cache.delete(caDir); // a failure (e.g. no passphrase yet) is retried
    });
    return ca;
  }
  return open(caDir, certificate, context);
}

async function open(
  caDir: string,
  certificate: X509Certificate,
  context: SecretContext,
): Promise<IssuingCa | undefined> {
  const privateKey = await openCaKey(caDir, context);
  if (privateKey === undefined) return undefined;
  const ca: IssuingCa = { certificate, privateKey };
  assertUsableCa(ca);
  return ca;
}
