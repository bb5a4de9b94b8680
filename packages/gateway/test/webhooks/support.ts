/**
 * A real HTTPS webhook receiver for the integration tests: node:https with a certificate issued at test
 * time by a throw-away CA (the real `openssl` CLI; SAN localhost, 127.0.0.1, ::1), answering by path with
 * a scripted status per request, and recording every request's headers and exact body bytes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPENSSL } from '../pki/helpers.ts';

export interface ReceivedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Receiver {
  port: number;
  caPath: string;
  received: ReceivedRequest[];
  /** Statuses answered on `path`, in order; the last one repeats. Default 200. */
  script(path: string, statuses: number[]): void;
  close(): Promise<void>;
}

function issueCertificates(dir: string): { caPath: string; cert: string; key: string } {
  const run = (args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=webhook test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  run(['req', '-new', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost']);
  writeFileSync(
    join(dir, 'leaf.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  run([
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'leaf.ext',
    '-out',
    'leaf.pem',
  ]);
  return {
    caPath: join(dir, 'ca.pem'),
    cert: readFileSync(join(dir, 'leaf.pem'), 'utf8'),
    key: readFileSync(join(dir, 'leaf.key'), 'utf8'),
  };
}

export async function startReceiver(): Promise<Receiver> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-webhook-receiver-'));
  const { caPath, cert, key } = issueCertificates(dir);
  const received: ReceivedRequest[] = [];
  const scripts = new Map<string, number[]>();
  const served = new Map<string, number>();
  const server: Server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const n = served.get(path) ?? 0;
      served.set(path, n + 1);
      const script = scripts.get(path) ?? [200];
      const status = script[Math.min(n, script.length - 1)] ?? 200;
      if (status >= 300 && status < 400) res.setHeader('location', `https://127.0.0.1:${port}/redirected`);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status >= 200 && status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    caPath,
    received,
    script: (path, statuses) => {
      scripts.set(path, statuses);
      served.set(path, 0);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { until } from '../support/wait.ts';
