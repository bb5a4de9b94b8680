/**
 * The witness's HTTP interface (C2SP tlog-witness "HTTP Interface"): POST <prefix>/add-checkpoint on an
 * HTTPS server (TLS 1.3 only, the gateway's suite and group policy, a certificate the operator gives),
 * or plain HTTP on a loopback address for development only.
 *
 * Limits (the body is hostile until the log's signatures verified): a body of at most `maxBodyBytes`
 * (default 64 KiB: a fleetgate checkpoint with both signatures is about 4.6 KB and 63 proof lines 2.8 KB)
 * — a larger Content-Length is refused before reading, a longer stream is cut off, 413 either way;
 * headers 16 KiB, 10 s to send the request, keep-alive 5 s. Every answer is logged with its code, the
 * origin and sizes — never a key, a signature or the body.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLS_CIPHERSUITES, TLS_GROUPS } from '../../http/tls-policy.ts';
import { refuse, type Witness, type WitnessResponse } from './witness.ts';

export interface WitnessLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WitnessServerOptions {
  witness: Witness;
  host: string;
  port: number;
  /** PEM key and certificate chain; absent only with `insecureLoopback`. */
  tls?: { key: string; cert: string };
  /** Plain HTTP, allowed only on a loopback address (development and tests). */
  insecureLoopback?: boolean;
  maxBodyBytes?: number;
  logger: WitnessLogger;
}

export interface RunningWitnessServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startWitnessServer(options: WitnessServerOptions): Promise<RunningWitnessServer> {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { logger, witness } = options;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res, witness, maxBody).then(
      (answer) => log(logger, answer, req),
      (error: unknown) => {
        logger.error({ err: (error as Error).message }, 'witness request failed');
        if (!res.headersSent) send(res, refuse(500, 'WITNESS_INTERNAL', 'internal error'));
      },
    );
  };
  let server: Server;
  let scheme: 'https' | 'http';
  if (options.tls !== undefined) {
    server = createHttpsServer(
      {
        key: options.tls.key,
        cert: options.tls.cert,
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        ciphers: TLS_CIPHERSUITES,
        ecdhCurve: TLS_GROUPS,
        honorCipherOrder: true,
        maxHeaderSize: 16 * 1024,
      },
      handler,
    );
    scheme = 'https';
  } else {
    if (options.insecureLoopback !== true || !LOOPBACK.has(options.host)) {
      throw new Error('plain HTTP is only for a loopback address with --insecure-loopback; give a TLS key');
    }
    server = createHttpServer({ maxHeaderSize: 16 * 1024 }, handler);
    scheme = 'http';
  }
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `${scheme}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  witness: Witness,
  maxBody: number,
): Promise<WitnessResponse> {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/add-checkpoint') {
    req.resume();
    return send(res, refuse(404, 'WITNESS_NOT_FOUND', 'no such path'));
  }
  if (req.method !== 'POST') {
    req.resume();
    res.setHeader('allow', 'POST');
    return send(res, refuse(405, 'WITNESS_METHOD_NOT_ALLOWED', `method ${req.method ?? ''}`));
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && (!/^\d{1,15}$/.test(declared) || Number(declared) > maxBody)) {
    res.setHeader('connection', 'close');
    req.resume();
    return send(res, refuse(413, 'WITNESS_BODY_TOO_LARGE', `content-length over ${maxBody}`));
  }
  const body = await readBounded(req, maxBody);
  if (body === undefined) {
    res.setHeader('connection', 'close');
    return send(res, refuse(413, 'WITNESS_BODY_TOO_LARGE', `body over ${maxBody} bytes`));
  }
  return send(res, await witness.addCheckpoint(body));
}

/** Reads at most `max` bytes; undefined (and the rest discarded) if the body is longer. */
function readBounded(req: IncomingMessage, max: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      length += chunk.byteLength;
      if (length > max) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, answer: WitnessResponse): WitnessResponse {
  res.statusCode = answer.status;
  res.setHeader('content-type', answer.contentType);
  res.setHeader('cache-control', 'no-store');
  res.end(answer.body);
  return answer;
}

function log(logger: WitnessLogger, answer: WitnessResponse, req: IncomingMessage): void {
  const fields = {
    code: answer.code,
    status: answer.status,
    ...(answer.origin === undefined ? {} : { origin: answer.origin }),
    ...(answer.size === undefined ? {} : { size: answer.size }),
    ...(answer.detail === undefined ? {} : { detail: answer.detail }),
    remote: req.socket.remoteAddress,
  };
  if (answer.code === 'OK') logger.info(fields, 'checkpoint cosigned');
  else if (answer.status >= 500) logger.error(fields, 'add-checkpoint failed');
  else logger.warn(fields, 'add-checkpoint refused');
}
