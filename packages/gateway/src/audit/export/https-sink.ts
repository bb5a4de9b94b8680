/**
 * HTTPS sink: POSTs each batch to a URL, as a JSON array (`application/json`) or NDJSON
 * (`application/x-ndjson`). Delivered means answered 2xx; anything else — a 3xx included, since
 * redirects are never followed (a redirect could carry the events and the bearer token to another
 * host) — is a failure the runner retries with backoff. TLS is verified (the system roots or `caFile`)
 * under the outbound policy (http/outbound-tls.ts: TLS 1.2 with ECDHE + AEAD suites only, or TLS 1.3).
 *
 * `timeoutMs` is a deadline for the whole exchange — connect, TLS, request, status and body — not an
 * idle timeout: a receiver that trickles a byte just inside any idle timeout would otherwise hold the
 * sink (and the batch) forever. When it passes, the request is destroyed and the batch fails.
 *
 * The optional bearer token comes from the environment variable NAMED in the config, read when the sink
 * is built; it is never in the config, a log line or an error message. Response bodies are discarded
 * (at most 64 KiB read) and never logged: a receiver's error page is not ours to store.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { outboundTlsOptions } from '../../http/outbound-tls.ts';
import { ExportDeliveryError, type ExportRecord, type ExportSink } from './sink.ts';

export interface HttpsSinkOptions {
  name: string;
  url: string;
  format: 'json-array' | 'ndjson';
  timeoutMs: number;
  /** PEM CA bundle; default the system roots. */
  ca?: string;
  /** Name of the environment variable with the bearer token. */
  bearerTokenEnv?: string;
  env?: NodeJS.ProcessEnv;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export function httpsSinkFromFiles(options: Omit<HttpsSinkOptions, 'ca'> & { caFile?: string }): HttpsSink {
  const { caFile, ...rest } = options;
  return new HttpsSink({ ...rest, ...(caFile === undefined ? {} : { ca: readFileSync(caFile, 'utf8') }) });
}

export class HttpsSink implements ExportSink {
  readonly name: string;
  readonly #options: HttpsSinkOptions;
  readonly #url: URL;
  readonly #token: string | undefined;

  constructor(options: HttpsSinkOptions) {
    this.name = options.name;
    this.#options = options;
    this.#url = new URL(options.url);
    if (this.#url.protocol !== 'https:')
      throw new TypeError(`https sink ${options.name}: the URL must be https`);
    const env = options.env ?? process.env;
    this.#token = options.bearerTokenEnv === undefined ? undefined : env[options.bearerTokenEnv];
  }

  async deliver(batch: readonly ExportRecord[], signal: AbortSignal): Promise<void> {
    if (batch.length === 0) return;
    const o = this.#options;
    if (o.bearerTokenEnv !== undefined && (this.#token === undefined || this.#token === '')) {
      throw new ExportDeliveryError(
        `https sink ${this.name}: environment variable ${o.bearerTokenEnv} is not set`,
      );
    }
    const body =
      o.format === 'ndjson'
        ? `${batch.map((r) => r.json).join('\n')}\n`
        : `[${batch.map((r) => r.json).join(',')}]`;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        this.#url,
        {
          method: 'POST',
          headers: {
            'content-type': o.format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
            'content-length': Buffer.byteLength(body, 'utf8'),
            'user-agent': 'fleetgate-siem-export',
            ...(this.#token === undefined ? {} : { authorization: `Bearer ${this.#token}` }),
          },
          ...(o.ca === undefined ? {} : { ca: o.ca }),
          ...outboundTlsOptions(),
          rejectUnauthorized: true,
          // One deadline for the whole exchange (the module comment), or the runner's stop.
          signal: AbortSignal.any([signal, AbortSignal.timeout(o.timeoutMs)]),
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.byteLength;
            if (read > MAX_RESPONSE_BYTES) res.destroy();
          });
          res.on('error', () => resolve(res.statusCode ?? 0));
          res.on('close', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    }).catch((error: unknown) => {
      throw new ExportDeliveryError(`https sink ${this.name}: request to ${this.#url.host} failed`, {
        cause: error,
      });
    });
    if (status < 200 || status > 299) {
      throw new ExportDeliveryError(
        `https sink ${this.name}: ${this.#url.host} answered ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`,
      );
    }
  }

  async close(): Promise<void> {}
}
