/**
 * HTTPS transport for signed envelopes: mutual TLS 1.3 (the device certificate is the vehicle's
 * identity), one keep-alive agent so the ~1 ms full handshake and certificate parsing are paid per
 * connection rather than per batch, TLS session resumption through the agent's session cache.
 *
 * Threats: a man in the middle or a spoofed gateway (server certificate verified against the
 * given CA bundle and `servername`, never disabled; nothing below TLS 1.3); a hostile or broken
 * server that answers slowly or endlessly (a whole-request deadline, a cap on the response body).
 * The body is POSTed as `application/x-protobuf`; responses are reported as data — status,
 * Retry-After, and the RFC 9457 problem details of a refusal — and only failures to get a
 * response at all are EdgeErrors: EDGE_NETWORK and EDGE_TIMEOUT (worth retrying), EDGE_TLS (not),
 * EDGE_BAD_RESPONSE, EDGE_TRANSPORT_CLOSED.
 */
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { EdgeError } from '../errors.ts';
import { type Problem, parseProblem, parseRetryAfter } from '../internal/http-answer.ts';

export type { Problem };

export const DEFAULT_TELEMETRY_PATH = '/v1/telemetry';

type Pem = string | Buffer;

export interface HttpsTransportOptions {
  /** The gateway's telemetry listener, e.g. `https://gateway.example:8443`; path defaults to /v1/telemetry. */
  url: string | URL;
  /** Device certificate chain (PEM). */
  cert: Pem;
  /** Device private key (PEM). */
  key: Pem;
  /** CA bundle the gateway's certificate must chain to (PEM). */
  ca: Pem | readonly Pem[];
  /** Name the gateway's certificate must carry (SNI and verification), when it differs from the URL's host. */
  servername?: string;
  /** Deadline for a whole request, connect to last byte. Default 10,000 ms. */
  timeoutMs?: number;
  /** Concurrent connections. Default 2. */
  maxSockets?: number;
  /** Largest response body read. Default 64 KiB. */
  maxResponseBytes?: number;
}

export interface SendResult {
  status: number;
  /** From Retry-After (delta-seconds or HTTP-date), on any status. */
  retryAfterSeconds?: number;
  /** The parsed body of an `application/problem+json` error response. */
  problem?: Problem;
}

export class HttpsTransport {
  readonly url: URL;
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  #closed = false;

  constructor(options: HttpsTransportOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (cause) {
      throw new EdgeError('EDGE_INVALID_ARGUMENT', 'url is not a URL', { cause });
    }
    if (url.protocol !== 'https:') throw new EdgeError('EDGE_INVALID_ARGUMENT', 'url must be https');
    if (url.pathname === '/') url.pathname = DEFAULT_TELEMETRY_PATH;
    this.url = url;
    this.#timeoutMs = positive(options.timeoutMs ?? 10_000, 'timeoutMs');
    this.#maxResponseBytes = positive(options.maxResponseBytes ?? 65_536, 'maxResponseBytes');
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: positive(options.maxSockets ?? 2, 'maxSockets'),
      minVersion: 'TLSv1.3',
      rejectUnauthorized: true,
      cert: options.cert,
      key: options.key,
      ca: Array.isArray(options.ca) ? [...options.ca] : (options.ca as Pem),
      ...(options.servername === undefined ? {} : { servername: options.servername }),
    });
  }

  /** POSTs one encoded envelope; resolves with the gateway's answer, rejects with an EdgeError. */
  send(envelope: Uint8Array): Promise<SendResult> {
    if (this.#closed) return Promise.reject(new EdgeError('EDGE_TRANSPORT_CLOSED', 'transport is closed'));
    return new Promise<SendResult>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        reject(classify(error));
      };
      const req = request(this.url, {
        method: 'POST',
        agent: this.#agent,
        headers: {
          'content-type': 'application/x-protobuf',
          'content-length': envelope.byteLength,
          accept: 'application/json, application/problem+json',
        },
      });
      const deadline = setTimeout(() => {
        req.destroy(new EdgeError('EDGE_TIMEOUT', `no complete response within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      req.on('error', fail);
      req.on('response', (res) => {
        readBody(res, this.#maxResponseBytes).then((body) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve(toResult(res, body));
        }, fail);
      });
      req.end(envelope);
    });
  }

  /** Destroys the agent and its pooled connections; later sends fail with EDGE_TRANSPORT_CLOSED. */
  close(): void {
    this.#closed = true;
    this.#agent.destroy();
  }
}

function readBody(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    res.on('data', (chunk: Buffer) => {
      length += chunk.byteLength;
      if (length > maxBytes) {
        res.destroy();
        reject(new EdgeError('EDGE_BAD_RESPONSE', `response body larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new EdgeError('EDGE_NETWORK', 'connection closed mid-response'));
    });
  });
}

function toResult(res: IncomingMessage, body: Buffer): SendResult {
  const status = res.statusCode ?? 0;
  const result: SendResult = { status };
  const retryAfter = parseRetryAfter(res.headers['retry-after']);
  if (retryAfter !== undefined) result.retryAfterSeconds = retryAfter;
  const mediaType = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (status >= 400 && mediaType === 'application/problem+json') {
    const problem = parseProblem(body);
    if (problem !== undefined) result.problem = problem;
  }
  return result;
}

/**
 * Certificate verification failures, TLS alerts and protocol-version refusals (EPROTO): a retry
 * would meet the same certificate or the same server configuration.
 */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|EPROTO$)|CERT|UNABLE_TO_(GET|VERIFY)/;

function classify(error: unknown): EdgeError {
  if (error instanceof EdgeError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (TLS_CODE.test(code)) return new EdgeError('EDGE_TLS', `TLS failed: ${code}`, { cause: error });
  if (code === 'ETIMEDOUT') return new EdgeError('EDGE_TIMEOUT', 'connection timed out', { cause: error });
  return new EdgeError('EDGE_NETWORK', `request failed${code === '' ? '' : `: ${code}`}`, { cause: error });
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EdgeError('EDGE_INVALID_ARGUMENT', `${name} must be a positive integer`);
  }
  return value;
}
