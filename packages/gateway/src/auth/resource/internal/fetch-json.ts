/**
 * One HTTPS GET of a JSON document from an external authorization server (RFC 8414 metadata, JWK Set).
 * The server is outside our trust boundary; its answer is hostile input:
 *   - https only, with the configured trust anchors (or the system's), server name checked;
 *   - no redirects (a 3xx is a failure: a redirect is how an SSRF or a key substitution is smuggled in);
 *   - at most MAX_BYTES read, a 5 s deadline for the whole exchange;
 *   - the body is parsed by the gateway's defensive JSON parser (depth, forbidden keys) and must be an object.
 */
import { request } from 'node:https';
import { parseJsonBody } from '../../../http/json-body.ts';

export const MAX_BYTES = 256 * 1024;
const TIMEOUT_MS = 5_000;

export async function fetchJson(url: string, ca: string | undefined): Promise<Record<string, unknown>> {
  const target = new URL(url);
  if (target.protocol !== 'https:') throw new Error('only https URLs are fetched');
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        headers: { accept: 'application/json' },
        ...(ca === undefined ? {} : { ca }),
        minVersion: 'TLSv1.2',
        agent: false,
        timeout: TIMEOUT_MS,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode} from ${target.origin}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > MAX_BYTES) {
            req.destroy(new Error(`document from ${target.origin} exceeds ${MAX_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      },
    );
    const deadline = setTimeout(
      () => req.destroy(new Error(`${target.origin} did not answer in time`)),
      TIMEOUT_MS,
    );
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new Error(`${target.origin} did not answer in time`)));
    req.on('error', reject);
    req.end();
  });
  const value = parseJsonBody(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`document from ${target.origin} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
