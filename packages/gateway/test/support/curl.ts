/**
 * The real curl as a partner of a test gateway: its certificate chain and key from the gateway's PKI
 * (DATA/pki/partners/<partner>/), the gateway's CA pinned; `args` follow. The caller asserts the result.
 */
import { join } from 'node:path';
import type { TestGateway } from './harness.ts';
import { runPeer } from './run.ts';

export function curlAsPartner(
  t: TestGateway,
  partner: string,
  args: readonly string[],
): ReturnType<typeof runPeer> {
  const dir = join(t.dataDir, 'pki', 'partners', partner);
  return runPeer('curl', [
    '-sS',
    '--cacert',
    t.caPath,
    '--cert',
    join(dir, 'chain.pem'),
    '--key',
    join(dir, 'key.pem'),
    ...args,
  ]);
}
