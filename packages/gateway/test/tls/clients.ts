/**
 * Test support for the TLS suite: real Node clients against a real gateway. A keep-alive HTTPS client
 * whose requests report whether they reused the open connection (so a test can keep one connection
 * open across a trust reload), and a raw TLS 1.3 handshake that reports what the server accepted.
 *
 * In TLS 1.3 the client finishes its half of the handshake before the server has checked the client's
 * certificate, so "connected" is judged by an HTTP response coming back over the connection: a server
 * that refused the certificate answers with an alert instead.
 */
import { Agent, request } from 'node:https';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';

export interface ClientIdentity {
  /** PEM chain (leaf + intermediate), absent for a client without a certificate. */
  readonly cert?: string;
  readonly key?: string;
  /** PEM trust bundle the client verifies the server with. */
  readonly ca: string;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
  /** True when the request went over a connection that was already open. */
  readonly reused: boolean;
  readonly socket: TLSSocket;
}

/** A keep-alive client with at most one connection, so consecutive requests share it. */
export class KeepAliveClient {
  readonly agent: Agent;

  constructor(identity: ClientIdentity) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: identity.ca,
      ...(identity.cert === undefined ? {} : { cert: identity.cert }),
      ...(identity.key === undefined ? {} : { key: identity.key }),
      minVersion: 'TLSv1.3',
      servername: 'localhost',
    });
  }

  get(url: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(url, { agent: this.agent, method: 'GET', timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            reused: req.reusedSocket,
            socket: res.socket as TLSSocket,
          }),
        );
      });
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface HandshakeResult {
  readonly protocol: string | null;
  readonly cipher: string;
  readonly group: string | undefined;
  readonly reused: boolean;
  readonly session: Buffer | undefined;
  readonly peer: PeerCertificate;
}

/**
 * One TLS 1.3 connection; resolves after an HTTP/1.1 response arrived (the server accepted the
 * client), rejects on a handshake failure or an alert. `session` resumes a previous session.
 */
export function tlsExchange(
  port: number,
  identity: ClientIdentity,
  options: {
    ecdhCurve?: string;
    ciphers?: string;
    session?: Buffer;
    maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  } = {},
): Promise<HandshakeResult> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    let replied = false;
    let negotiated: Omit<HandshakeResult, 'session'> | undefined;
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: identity.ca,
      ...(identity.cert === undefined ? {} : { cert: identity.cert }),
      ...(identity.key === undefined ? {} : { key: identity.key }),
      minVersion: options.maxVersion === 'TLSv1.2' ? 'TLSv1.2' : 'TLSv1.3',
      maxVersion: options.maxVersion ?? 'TLSv1.3',
      ...(options.ecdhCurve === undefined ? {} : { ecdhCurve: options.ecdhCurve }),
      ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }),
      ...(options.session === undefined ? {} : { session: options.session }),
    });
    const timer = setTimeout(() => socket.destroy(new Error('no reply in 10 s')), 10_000);
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    socket.on('secureConnect', () => {
      negotiated = {
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().standardName,
        group: (socket.getEphemeralKeyInfo() as { name?: string }).name,
        reused: socket.isSessionReused(),
        peer: socket.getPeerCertificate(),
      };
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', (chunk: Buffer) => {
      if (chunk.toString('latin1').startsWith('HTTP/1.1 ')) replied = true;
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!replied || negotiated === undefined) {
        reject(new Error('closed without an HTTP response (handshake refused)'));
        return;
      }
      resolve({ ...negotiated, session });
    });
  });
}
