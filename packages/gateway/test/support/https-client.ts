/** A minimal HTTPS client for tests: one request, optional client certificate, no connection reuse. */
import { request } from 'node:https';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): Record<string, unknown>;
}

export function httpsRequest(
  url: string,
  options: {
    method?: string;
    body?: string | Uint8Array;
    contentType?: string;
    cert?: string;
    key?: string;
    ca: string;
    /** Extra request headers (a header given twice as an array is sent twice). */
    headers?: Record<string, string | string[]>;
  },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number | string[]> = { ...(options.headers ?? {}) };
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const req = request(
      url,
      {
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers,
        ca: options.ca,
        ...(options.cert ? { cert: options.cert } : {}),
        ...(options.key ? { key: options.key } : {}),
        agent: false,
        minVersion: 'TLSv1.3',
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
