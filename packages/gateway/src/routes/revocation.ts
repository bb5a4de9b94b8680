/**
 * Revocation on the public, read-only listener (TLS 1.3, no client certificate):
 *   GET  /pki/crl             the issuing CA's CRL, DER (application/pkix-crl, RFC 5280 §5, RFC 2585 §4.2)
 *   GET  /pki/crl.pem         the same CRL, PEM (followed by the previous intermediate's during a CA rollover)
 *   POST /ocsp                OCSP over HTTP (RFC 6960 Appendix A.1): body application/ocsp-request
 *   GET  /ocsp/{request}      the same, the DER request base64-encoded then URL-encoded in the path
 * OCSP answers are always HTTP 200 with an OCSPResponse (application/ocsp-response), including for a
 * malformed request (`malformedRequest`), so an OCSP client always gets a protocol-level answer.
 *
 * Limits: an OCSP request body or decoded path of at most MAX_OCSP_REQUEST_BYTES (ocsp-request.ts);
 * the GET path is read from the raw URL (the router's parameter length limit does not apply to it) and
 * decoded strictly: URL-decoding that fails or base64 with foreign characters is malformedRequest.
 */
import { GatewayError } from '../errors/gateway-error.ts';
import type { AnyFastify } from '../http/common.ts';
import { MAX_OCSP_REQUEST_BYTES } from '../pki/revocation/ocsp-request.ts';
import type { OcspAnswer } from '../pki/revocation/ocsp-responder.ts';
import type { RevocationService } from '../pki/revocation/service.ts';

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const MAX_GET_PATH = Math.ceil(MAX_OCSP_REQUEST_BYTES / 3) * 4 * 3; // base64, then every byte %-encoded

/** The DER request carried in a GET path, or undefined if the path is not base64 of at most the limit. */
export function decodeOcspGetPath(encoded: string): Uint8Array | undefined {
  if (encoded.length === 0 || encoded.length > MAX_GET_PATH) return undefined;
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  return bytes.length === 0 ? undefined : new Uint8Array(bytes);
}

export function registerRevocationRoutes(app: AnyFastify, revocation: RevocationService): void {
  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/ocsp-request',
      // One byte over the limit still reaches the responder, which answers malformedRequest.
      { parseAs: 'buffer', bodyLimit: MAX_OCSP_REQUEST_BYTES + 1 },
      (_req, body, done) => done(null, body),
    );

    const crl = () => {
      const current = revocation.crl();
      if (current === undefined) {
        throw new GatewayError('SERVICE_UNAVAILABLE', 'no CRL published yet', { retryAfterSeconds: 5 });
      }
      return current;
    };
    scope.get('/pki/crl', async (_request, reply) =>
      reply.type('application/pkix-crl').header('cache-control', 'no-cache').send(Buffer.from(crl().der)),
    );
    // PEM: every live intermediate's CRL (two during a CA rollover's overlap), like DIR/pki/crl.pem.
    scope.get('/pki/crl.pem', async (_request, reply) => {
      crl();
      return reply
        .type('application/x-pem-file')
        .header('cache-control', 'no-cache')
        .send(revocation.crlBundlePem());
    });

    const answer = (der: Uint8Array | undefined): Promise<OcspAnswer> =>
      revocation.ocsp.answer(der ?? new Uint8Array());
    const send = (
      request: { log: AnyFastify['log'] },
      reply: { type(t: string): { header(k: string, v: string): { send(b: Buffer): unknown } } },
      result: OcspAnswer,
    ) => {
      if (result.status !== 'successful') {
        request.log.info({ ocspStatus: result.status, problem: result.problem }, 'OCSP request not answered');
      }
      return reply
        .type('application/ocsp-response')
        .header('cache-control', 'no-cache')
        .send(Buffer.from(result.der));
    };
    scope.post('/ocsp', async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? new Uint8Array(request.body) : undefined;
      return send(request, reply, await answer(body));
    });
    scope.get('/ocsp/*', async (request, reply) => {
      const path = (request.raw.url ?? '').split('?')[0] ?? '';
      const encoded = path.startsWith('/ocsp/') ? path.slice('/ocsp/'.length) : '';
      return send(request, reply, await answer(decodeOcspGetPath(encoded)));
    });
  });
}
