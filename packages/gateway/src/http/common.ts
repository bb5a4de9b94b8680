/**
 * What every listener shares: the defensive JSON parser, RFC 9457 problem+json for every error (stable
 * code, fixed title, never internal detail), a coded 404, and per-listener request metrics.
 */
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerBase,
} from 'fastify';
import { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import { parseJsonBody } from './json-body.ts';

export type AnyFastify = FastifyInstance<
  RawServerBase,
  RawRequestDefaultExpression<RawServerBase>,
  RawReplyDefaultExpression<RawServerBase>,
  FastifyBaseLogger
>;

export const JSON_BODY_LIMIT = 64 * 1024;

const FASTIFY_CODES: Record<string, GatewayError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'REQUEST_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REQUEST_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REQUEST_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'REQUEST_MALFORMED_JSON',
};

export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const fe = error as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation !== undefined) return new GatewayError('REQUEST_INVALID', fe.message);
  if (typeof fe.code === 'string' && FASTIFY_CODES[fe.code] !== undefined) {
    return new GatewayError(FASTIFY_CODES[fe.code] as GatewayError['code'], undefined, { cause: error });
  }
  if (fe.statusCode === 413) return new GatewayError('REQUEST_BODY_TOO_LARGE', undefined, { cause: error });
  if (fe.statusCode === 415)
    return new GatewayError('REQUEST_UNSUPPORTED_MEDIA_TYPE', undefined, { cause: error });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new GatewayError('REQUEST_INVALID', undefined, { cause: error });
  }
  return new GatewayError('INTERNAL_ERROR', undefined, { cause: error });
}

/** The part of a fastify reply a problem needs; every listener's reply type satisfies it. */
export interface ProblemReply {
  code(statusCode: number): unknown;
  header(key: string, value: string): unknown;
  type(contentType: string): unknown;
  send(payload: unknown): unknown;
}

export function sendProblem(reply: ProblemReply, request: { url: string }, error: GatewayError): unknown {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  reply.code(error.status);
  reply.type('application/problem+json');
  return reply.send(error.toProblem(request.url.length <= 256 ? request.url : undefined));
}

export function installCommon(app: AnyFastify, listener: string, metrics: GatewayMetrics): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: JSON_BODY_LIMIT },
    (_req, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  app.setErrorHandler((error, request, reply) => {
    const ge = toGatewayError(error);
    if (ge.status >= 500) request.log.error({ err: error, code: ge.code }, 'request failed');
    else request.log.info({ code: ge.code }, 'request refused');
    return sendProblem(reply, request, ge);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new GatewayError('REQUEST_ROUTE_NOT_FOUND')),
  );
  app.addHook('onResponse', async (_request, reply) => {
    metrics.httpRequests.inc({ listener, status: String(reply.statusCode) });
  });
}
