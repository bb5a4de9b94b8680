/**
 * The small HTTPS client the replica and the offline verifier use against a gateway's public listener
 * (and, for `replicate --to URL`, a WebDAV server or object store): TLS 1.3 at least, the given CA
 * (the gateway's, `--ca`) or the system's, no connection reuse, bounded bodies and a timeout.
 *
 * Responses are hostile input: a body over `maxBytes` is cut off and refused (REPLICA_UPSTREAM),
 * never buffered without bound. Error messages carry the status and path, never a body, a query string or
 * credentials (a URL with `user:password@` is refused before any connection).
 */
import { request } from 'node:https';
import { ReplicaError } from './errors.ts';

export interface HttpOptions {
  /** PEM CA certificates to trust instead of the system's. */
  ca?: string;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  body: Uint8Array;
  headers: Record<string, string | string[] | undefined>;
}

/** A full entry bundle is at most 256 × (2 + 65,535) bytes. */
export const MAX_RESPONSE_BYTES = 17 * 1024 * 1024;

export function httpRequest(
  url: string,
  method: 'GET' | 'PUT',
  options: HttpOptions & { body?: Uint8Array; headers?: Record<string, string>; maxBytes?: number },
): Promise<HttpResponse> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:') {
    return Promise.reject(new ReplicaError('REPLICA_USAGE', `${parsed.protocol} is not https:`));
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Never sent, never printed: credentials belong in a header read from the environment.
    return Promise.reject(
      new ReplicaError('REPLICA_USAGE', 'credentials in a URL (user:password@) are refused'),
    );
  }
  const maxBytes = options.maxBytes ?? MAX_RESPONSE_BYTES;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = options.body.byteLength;
    }
    const req = request(
      parsed,
      {
        method,
        headers,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        agent: false,
        minVersion: 'TLSv1.3',
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.byteLength;
          if (size > maxBytes) {
            res.destroy();
            reject(
              new ReplicaError(
                'REPLICA_UPSTREAM',
                `${method} ${parsed.pathname}: body over ${maxBytes} bytes`,
              ),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('error', (cause) =>
          reject(new ReplicaError('REPLICA_UPSTREAM', `${method} ${parsed.pathname} failed`, { cause })),
        );
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (cause) =>
      reject(
        new ReplicaError('REPLICA_UPSTREAM', `${method} ${parsed.origin}${parsed.pathname} failed`, {
          cause,
        }),
      ),
    );
    req.end(options.body === undefined ? undefined : Buffer.from(options.body));
  });
}

/** GET that must answer 200; 404 gives undefined when `allowMissing`. */
export async function httpGet(
  url: string,
  options: HttpOptions,
  allowMissing = false,
): Promise<Uint8Array | undefined> {
  const res = await httpRequest(url, 'GET', options);
  if (res.status === 404 && allowMissing) return undefined;
  if (res.status !== 200) {
    throw new ReplicaError('REPLICA_UPSTREAM', `GET ${new URL(url).pathname} answered ${res.status}`);
  }
  return res.body;
}
