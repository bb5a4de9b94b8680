/**
 * Test support for the PKI suite: throw-away data directories, the real `openssl` CLI as an outside
 * authority, and a real node:tls TLS 1.3 mTLS handshake whose outcome is read on the server side
 * (in TLS 1.3 the client may finish its half before the server rejects its certificate).
 * Keys are generated at test time into a temporary directory and removed afterwards.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { type PeerIdentity, peerIdentityFromDer } from '../../src/pki/peer-identity.ts';

export const OPENSSL = process.env.OPENSSL ?? '/usr/bin/openssl';

export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-pki-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openssl(
  args: readonly string[],
  input?: string,
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(OPENSSL, args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** `openssl x509 -noout -text` of a PEM certificate file or PEM text. */
export function x509Text(pemOrPath: string): string {
  const input = pemOrPath.startsWith('-----') ? pemOrPath : readFileSync(pemOrPath, 'utf8');
  return execFileSync(OPENSSL, ['x509', '-noout', '-text'], { input, encoding: 'utf8' });
}

/** One X509v3 extension from `openssl x509 -text`: whether it is critical and its value line(s). */
export function extension(text: string, name: string): { critical: boolean; value: string } | undefined {
  const match = new RegExp(`X509v3 ${name}:( critical)?\\s*\\n\\s+([^\\n]+)`).exec(text);
  if (match === null) return undefined;
  return { critical: match[1] !== undefined, value: (match[2] ?? '').trim() };
}

export interface TlsEndpointFiles {
  readonly key: string;
  readonly chain: string;
}

export type HandshakeOutcome =
  | {
      readonly accepted: true;
      readonly protocol: string | null;
      /** OpenSSL's verdict on the client chain (null when it verified); only non-null in 'diagnose' mode. */
      readonly authorizationError: string | null;
      /** The identity derived from the peer certificate, when the chain verified. */
      readonly identity: PeerIdentity | undefined;
    }
  | { readonly accepted: false; readonly serverError: string };

/**
 * A TLS 1.3-only server that requires a client certificate chained to `caBundle`, and one client
 * connection. 'enforce' is the production setting (requestCert + rejectUnauthorized): node destroys a
 * connection whose client chain fails verification before 'secureConnection', without telling why.
 * 'diagnose' keeps requestCert but not rejectUnauthorized, so a test can read OpenSSL's reason
 * (`authorizationError`) and show that a refusal happens for the expected cause.
 */
export async function mtlsHandshake(
  server: TlsEndpointFiles & { readonly caBundle: string },
  client: { readonly key?: string; readonly chain?: string; readonly caBundle: string },
  mode: 'enforce' | 'diagnose' = 'enforce',
): Promise<HandshakeOutcome> {
  const tlsServer = createServer({
    key: readFileSync(server.key),
    cert: readFileSync(server.chain),
    ca: readFileSync(server.caBundle),
    requestCert: true,
    rejectUnauthorized: mode === 'enforce',
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
  });
  const serverSockets = new Set<Socket>();
  const outcome = new Promise<HandshakeOutcome>((resolve) => {
    tlsServer.on('connection', (tcp: Socket) => {
      serverSockets.add(tcp);
      tcp.on('close', () => resolve({ accepted: false, serverError: 'closed before secureConnection' }));
    });
    tlsServer.on('secureConnection', (socket: TLSSocket) => {
      const error = socket.authorized ? null : String(socket.authorizationError ?? 'unauthorized');
      const raw = socket.getPeerCertificate().raw;
      const identity = error === null ? peerIdentityFromDer(new Uint8Array(raw)) : undefined;
      resolve({ accepted: true, protocol: socket.getProtocol(), authorizationError: error, identity });
      socket.end();
    });
    tlsServer.on('tlsClientError', (error: Error & { code?: string }) => {
      resolve({ accepted: false, serverError: `${error.code ?? ''} ${error.message}` });
    });
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const address = tlsServer.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const socket = connect({
    host: '127.0.0.1',
    port: address.port,
    servername: 'localhost',
    ca: readFileSync(client.caBundle),
    ...(client.key === undefined ? {} : { key: readFileSync(client.key) }),
    ...(client.chain === undefined ? {} : { cert: readFileSync(client.chain) }),
    minVersion: 'TLSv1.3',
  });
  socket.on('error', () => {}); // the client learns of a rejection as a reset or an alert
  socket.on('data', () => {});
  try {
    return await outcome;
  } finally {
    socket.destroy();
    for (const tcp of serverSockets) tcp.destroy();
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
  }
}
