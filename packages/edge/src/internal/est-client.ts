/**
 * The EST client half (RFC 7030 §4.2, RFC 8951): POSTs a base64 PKCS#10 request to
 * /.well-known/est/simpleenroll or /simplereenroll over TLS 1.3 and reads the base64 certs-only
 * CMS response (RFC 5652 §5 SignedData without signers) into certificates.
 *
 * Threats: a spoofed gateway (its certificate is verified against the given CA bundle, never
 * disabled); a hostile or broken answer — the body is capped, a deadline covers the whole exchange,
 * and the PKCS#7 is read by the strict DER reader (der.ts) into at most MAX_CERTIFICATES certificates,
 * each parsed by node:crypto; anything else is EDGE_BAD_RESPONSE. A refusal (4xx/5xx) is
 * EDGE_ENROLLMENT_REFUSED carrying the gateway's RFC 9457 problem.
 */
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { EdgeError } from '../errors.ts';
import {
  children,
  expectTag,
  readElement,
  TAG_CONTEXT_0,
  TAG_INTEGER,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
} from './der.ts';
import { type Problem, parseProblem } from './http-answer.ts';

type Pem = string | Buffer;

export interface EstEndpoint {
  /** The gateway's public listener, e.g. https://gateway.example:8445. */
  readonly url: string | URL;
  /** CA bundle the gateway's server certificate must chain to. */
  readonly ca: Pem | readonly Pem[];
  readonly servername?: string;
  /** Whole-exchange deadline; default 15,000 ms. */
  readonly timeoutMs?: number;
}

export interface EstAuth {
  readonly bearer?: string;
  /** Current device certificate chain and key (simplereenroll). */
  readonly cert?: string;
  readonly key?: string;
}

/** Refused enrollment: the status and the gateway's problem details. */
export class EnrollmentRefusedError extends EdgeError {
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined) {
    super('EDGE_ENROLLMENT_REFUSED', `gateway refused enrollment: ${status} ${problem?.code ?? ''}`.trim());
    this.name = 'EnrollmentRefusedError';
    this.status = status;
    this.problem = problem;
  }
}

const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_CERTIFICATES = 8;
const OID_SIGNED_DATA = '06092a864886f70d010702';

export function estPost(
  endpoint: EstEndpoint,
  operation: 'simpleenroll' | 'simplereenroll',
  csrDer: Uint8Array,
  auth: EstAuth,
): Promise<X509Certificate[]> {
  const url = new URL(`/.well-known/est/${operation}`, endpoint.url);
  if (url.protocol !== 'https:')
    return Promise.reject(new EdgeError('EDGE_INVALID_ARGUMENT', 'url must be https'));
  const body = Buffer.from(Buffer.from(csrDer).toString('base64'));
  const timeoutMs = endpoint.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      minVersion: 'TLSv1.3',
      rejectUnauthorized: true,
      ca: Array.isArray(endpoint.ca) ? [...endpoint.ca] : (endpoint.ca as Pem),
      ...(endpoint.servername === undefined ? {} : { servername: endpoint.servername }),
      ...(auth.cert === undefined ? {} : { cert: auth.cert }),
      ...(auth.key === undefined ? {} : { key: auth.key }),
      headers: {
        'content-type': 'application/pkcs10',
        'content-transfer-encoding': 'base64',
        'content-length': body.byteLength,
        accept: 'application/pkcs7-mime, application/problem+json',
        ...(auth.bearer === undefined ? {} : { authorization: `Bearer ${auth.bearer}` }),
      },
    });
    const deadline = setTimeout(
      () => req.destroy(new EdgeError('EDGE_TIMEOUT', `no complete EST response within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (error: unknown) => {
      clearTimeout(deadline);
      reject(classify(error));
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.byteLength;
        if (length > MAX_RESPONSE_BYTES) {
          res.destroy(new EdgeError('EDGE_BAD_RESPONSE', 'EST response too large'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(deadline);
        const text = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          reject(new EnrollmentRefusedError(status, parseProblem(text)));
          return;
        }
        try {
          resolve(parseCertsOnly(decodeBase64(text.toString('latin1'))));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.end(body);
  });
}

/** As transport/https.ts: certificate and handshake failures are EDGE_TLS (a retry would fail again). */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|EPROTO$)|CERT|UNABLE_TO_(GET|VERIFY)/;

function classify(error: unknown): EdgeError {
  if (error instanceof EdgeError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (TLS_CODE.test(code)) return new EdgeError('EDGE_TLS', `EST TLS failed: ${code}`, { cause: error });
  return new EdgeError('EDGE_NETWORK', `EST request failed${code === '' ? '' : `: ${code}`}`, {
    cause: error,
  });
}

function decodeBase64(text: string): Uint8Array {
  const compact = text.replace(/[\r\n\t ]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact) || compact === '') {
    throw new EdgeError('EDGE_BAD_RESPONSE', 'EST response is not base64');
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** The certificates of a DER certs-only ContentInfo (SignedData, RFC 5652 §5.1), in the order sent. */
export function parseCertsOnly(der: Uint8Array): X509Certificate[] {
  const outer = expectTag(readElement(der, 0), TAG_SEQUENCE, 'ContentInfo');
  if (outer.end !== der.byteLength)
    throw new EdgeError('EDGE_BAD_RESPONSE', 'trailing bytes after ContentInfo');
  const [oid, explicit] = children(der, outer);
  const type = expectTag(oid, TAG_OID, 'contentType');
  if (Buffer.from(der.subarray(type.start, type.end)).toString('hex') !== OID_SIGNED_DATA) {
    throw new EdgeError('EDGE_BAD_RESPONSE', 'EST response is not SignedData');
  }
  const [signedData] = children(der, expectTag(explicit, TAG_CONTEXT_0, 'content'));
  const parts = children(der, expectTag(signedData, TAG_SEQUENCE, 'SignedData'));
  expectTag(parts[0], TAG_INTEGER, 'version');
  expectTag(parts[1], TAG_SET, 'digestAlgorithms');
  expectTag(parts[2], TAG_SEQUENCE, 'encapContentInfo');
  const set = expectTag(parts[3], TAG_CONTEXT_0, 'certificates');
  const certificates: X509Certificate[] = [];
  for (const element of children(der, set, MAX_CERTIFICATES)) {
    expectTag(element, TAG_SEQUENCE, 'Certificate');
    try {
      certificates.push(new X509Certificate(der.subarray(element.start, element.end)));
    } catch (cause) {
      throw new EdgeError('EDGE_BAD_RESPONSE', 'EST response holds an unparseable certificate', { cause });
    }
  }
  if (certificates.length === 0)
    throw new EdgeError('EDGE_BAD_RESPONSE', 'EST response holds no certificate');
  return certificates;
}
