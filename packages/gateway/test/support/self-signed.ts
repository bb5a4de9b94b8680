/**
 * A self-signed P-256 certificate valid for one day, made by the real openssl CLI as DIR/key.pem and
 * DIR/cert.pem: a throw-away CA nothing chains to, or a test server's own certificate (give it a
 * subjectAltName extension). The caller asserts the exit code.
 */
import { join } from 'node:path';
import { runPeer } from './run.ts';

export async function selfSignedCertificate(
  dir: string,
  subject: string,
  extensions: readonly string[] = [],
): Promise<{ code: number; out: string; keyPath: string; certPath: string }> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const made = await runPeer('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    subject,
    '-days',
    '1',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    ...extensions.flatMap((extension) => ['-addext', extension]),
  ]);
  return { ...made, keyPath, certPath };
}
