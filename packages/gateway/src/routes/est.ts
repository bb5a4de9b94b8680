/**
 * EST (RFC 7030, with the RFC 8951 clarifications) on the public listener:
 *   GET  /.well-known/est/cacerts         §4.1: the trust bundle (ca.pem) as base64 certs-only PKCS#7;
 *   POST /.well-known/est/simpleenroll    §4.2.1: first enrollment (pki/enrollment/simple-enroll.ts);
 *   POST /.well-known/est/simplereenroll  §4.2.2: renewal with a new key (simple-reenroll.ts).
 * Requests are `application/pkcs10` bodies in base64; responses `application/pkcs7-mime;
 * smime-type=certs-only` in base64 (Content-Transfer-Encoding: base64 is sent for RFC 7030 clients and
 * ignored on input, RFC 8951 §3). Refusals are RFC 9457 problem+json with an EST_* code; 401s carry
 * `WWW-Authenticate: Bearer`.
 *
 * The public listener requests a client certificate without requiring it (gateway.ts). Only these
 * routes look at it: simplereenroll through http/peer.ts, which accepts only a certificate OpenSSL
 * verified against the fleetgate bundle; simpleenroll only when it did NOT verify there, as a candidate
 * manufacturer certificate checked against the manufacturer bundle alone. Every other public route
 * ignores client certificates entirely.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { GatewayError } from '../errors/gateway-error.ts';
import { type AnyFastify, sendProblem, toGatewayError } from '../http/common.ts';
import { connectionOf, peerIdentity } from '../http/peer.ts';
import { MAX_DEPTH } from '../pki/enrollment/manufacturer.ts';
import { base64Lines, certsOnlyPkcs7, PKCS7_CERTS_ONLY } from '../pki/enrollment/pkcs7.ts';
import {
  type EnrollCredential,
  type SimpleEnrollDeps,
  simpleEnroll,
} from '../pki/enrollment/simple-enroll.ts';
import { simpleReenroll } from '../pki/enrollment/simple-reenroll.ts';
import { MAX_PEER_CERTIFICATE_BYTES } from '../pki/peer-identity.ts';

export const EST_PREFIX = '/.well-known/est';

export interface EstRouteDeps extends SimpleEnrollDeps {
  /** DIR/pki/ca.pem, read per request so a CA rollover is served without a restart. */
  readonly caBundlePath: string;
}

const BEARER = /^Bearer[ ]+(\S{1,256})$/i;

function bundle(path: string): X509Certificate[] {
  const text = readFileSync(path, 'utf8');
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (pem) => new X509Certificate(pem),
  );
}

/** The leaf and the CA certificates of the bundle above it, up to (not including) a self-signed root. */
function responseChain(leaf: X509Certificate, caBundle: readonly X509Certificate[]): X509Certificate[] {
  const chain = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth += 1) {
    const issuer = caBundle.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (issuer === undefined || issuer.checkIssued(issuer)) break;
    chain.push(issuer);
    current = issuer;
  }
  return chain;
}

/** The client certificate chain as sent (leaf first), when OpenSSL did not verify it against our bundle. */
function unverifiedClientChain(raw: Parameters<typeof connectionOf>[0]): X509Certificate[] {
  const { socket } = connectionOf(raw) as { socket: TLSSocket };
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized === true) return [];
  const chain: X509Certificate[] = [];
  let current: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<DetailedPeerCertificate>();
  // The chain is the peer's (attacker-controlled): bounded in length and in bytes per certificate.
  while (current?.raw !== undefined && !seen.has(current) && chain.length < MAX_DEPTH + 1) {
    if (current.raw.byteLength === 0 || current.raw.byteLength > MAX_PEER_CERTIFICATE_BYTES) return [];
    seen.add(current);
    chain.push(new X509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return chain;
}

function credentialOf(request: {
  headers: IncomingHttpHeaders;
  raw: Parameters<typeof connectionOf>[0];
}): EnrollCredential {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    return { kind: 'token', token: BEARER.exec(authorization)?.[1] ?? '' };
  }
  try {
    const chain = unverifiedClientChain(request.raw);
    return chain.length > 0 ? { kind: 'manufacturer', chain } : { kind: 'none' };
  } catch {
    // An unparseable client certificate is no credential at all.
    return { kind: 'none' };
  }
}

export function registerEstRoutes(app: AnyFastify, deps: EstRouteDeps): void {
  const bodyLimit = Math.ceil(deps.enrollment.maxCsrBytes / 3) * 4 + 4096; // base64 + line breaks
  app.addContentTypeParser('application/pkcs10', { parseAs: 'string', bodyLimit }, (_request, body, done) =>
    done(null, body),
  );

  const send = (reply: Parameters<typeof sendProblem>[0], certificates: X509Certificate[]) => {
    reply.header('content-transfer-encoding', 'base64');
    reply.type(PKCS7_CERTS_ONLY);
    return reply.send(base64Lines(certsOnlyPkcs7(certificates)));
  };
  const refuse = (
    reply: Parameters<typeof sendProblem>[0],
    request: { url: string; log: { error: (o: object, m: string) => void } },
    error: unknown,
  ) => {
    const ge = toGatewayError(error);
    if (ge.status >= 500) request.log.error({ err: error, code: ge.code }, 'EST request failed');
    if (ge.status === 401) reply.header('www-authenticate', 'Bearer realm="fleetgate-est"');
    return sendProblem(reply, request, ge);
  };
  const bodyOf = (body: unknown): string => {
    if (typeof body !== 'string') throw new GatewayError('REQUEST_UNSUPPORTED_MEDIA_TYPE');
    return body;
  };

  app.get(`${EST_PREFIX}/cacerts`, async (_request, reply) => send(reply, bundle(deps.caBundlePath)));

  app.post(`${EST_PREFIX}/simpleenroll`, async (request, reply) => {
    try {
      const body = bodyOf(request.body);
      const issued = await simpleEnroll(deps, credentialOf(request), body, request.ip);
      request.log.info({ serialNumber: issued.serialNumber }, 'EST enrollment');
      return send(reply, responseChain(issued.certificate, bundle(deps.caBundlePath)));
    } catch (error) {
      return refuse(reply, request, error);
    }
  });

  app.post(`${EST_PREFIX}/simplereenroll`, async (request, reply) => {
    try {
      const body = bodyOf(request.body);
      const issued = await simpleReenroll(deps, () => peerIdentity(request.raw), body, request.ip);
      request.log.info({ serialNumber: issued.serialNumber, resent: issued.resent }, 'EST re-enrollment');
      return send(reply, responseChain(issued.certificate, bundle(deps.caBundlePath)));
    } catch (error) {
      return refuse(reply, request, error);
    }
  });
}
