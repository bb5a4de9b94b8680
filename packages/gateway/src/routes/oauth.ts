/**
 * The authorization server's HTTP surface (issue 4; docs/auth.md "Authorization server"):
 *   control plane (and the optional token listener): POST /oauth/token, /oauth/introspect, /oauth/revoke
 *     — application/x-www-form-urlencoded in (RFC 6749 §3.2), RFC 6749 §5 JSON out, `Cache-Control:
 *     no-store`; every refusal, including a body that is not a form, is an RFC 6749 §5.2 body
 *     `{ error, error_description, code }`, never problem+json (CONVENTIONS.md §4: OAuth endpoints answer
 *     OAuth errors);
 *   public listener: GET /.well-known/oauth-authorization-server (RFC 8414 §3) and GET /oauth/jwks
 *     (RFC 7517 §5). The metadata is also answered on the control plane, at the issuer's own
 *     /.well-known path, for clients that discover from the issuer URL.
 *
 * The OAuth routes live in their own fastify scope: it replaces the JSON parser with a form parser
 * (16 KiB limit), and its error handler speaks RFC 6749. The per-address limit runs in onRequest, before
 * the body is read.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationServer, Endpoint, OAuthResponse } from '../auth/server/authorization-server.ts';
import { OAuthError } from '../auth/server/errors.ts';
import { FormParams, MAX_FORM_BYTES, parseForm } from '../auth/server/form.ts';
import type { PublicSigningJwk } from '../auth/server/signing-key.ts';
import type { AnyFastify } from '../http/common.ts';

const ENDPOINTS: Record<string, Endpoint> = {
  '/oauth/token': 'token',
  '/oauth/introspect': 'introspect',
  '/oauth/revoke': 'revoke',
};
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

function send(reply: FastifyReply, response: OAuthResponse): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  if (response.body === undefined) return reply.send();
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(response.body));
}

/** Every DPoP header value as received (node would join duplicates with a comma). */
function dpopHeaders(request: FastifyRequest): string[] {
  const raw = request.raw.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === 'dpop') values.push(raw[i + 1] ?? '');
  }
  return values;
}

function endpointOf(request: FastifyRequest): Endpoint {
  return ENDPOINTS[request.routeOptions.url ?? ''] ?? 'token';
}

function requestUrl(request: FastifyRequest): string | undefined {
  const host = request.headers.host;
  if (typeof host !== 'string' || !HOST.test(host)) return undefined;
  return `https://${host}${request.routeOptions.url ?? ''}`;
}

/** POST /oauth/token, /oauth/introspect, /oauth/revoke on `app`. */
export function registerOAuthRoutes(app: AnyFastify, server: AuthorizationServer): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer', bodyLimit: MAX_FORM_BYTES },
      (_request, body, done) => {
        try {
          done(null, parseForm(body as Buffer));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    scope.setErrorHandler(async (error, request, reply) => {
      const endpoint = endpointOf(request);
      if (error instanceof OAuthError)
        return send(reply, await server.malformed(request.raw, endpoint, error));
      const status = (error as { statusCode?: number }).statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        const refusal = new OAuthError(
          'invalid_request',
          'OAUTH_INVALID_REQUEST',
          status === 413
            ? 'the body is larger than 16 KiB'
            : 'the body must be application/x-www-form-urlencoded',
          { reason: status === 413 ? 'FORM_TOO_LARGE' : 'FORM_CONTENT_TYPE' },
        );
        return send(reply, await server.malformed(request.raw, endpoint, refusal));
      }
      request.log.error({ err: error }, 'oauth endpoint failed');
      return reply
        .code(500)
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .send(
          JSON.stringify({
            error: 'server_error',
            error_description: 'internal error',
            code: 'INTERNAL_ERROR',
          }),
        );
    });
    scope.addHook('onRequest', async (request, reply) => {
      const refusal = await server.admit(request.raw, endpointOf(request));
      if (refusal !== undefined) return send(reply, refusal);
      return undefined;
    });
    for (const [path, endpoint] of Object.entries(ENDPOINTS)) {
      scope.post(path, async (request, reply) => {
        const form = request.body instanceof FormParams ? request.body : undefined;
        const oauthRequest = {
          raw: request.raw,
          form,
          dpop: dpopHeaders(request),
          requestUrl: requestUrl(request),
        };
        const response =
          endpoint === 'token'
            ? await server.token(oauthRequest)
            : endpoint === 'introspect'
              ? await server.introspect(oauthRequest)
              : await server.revoke(oauthRequest);
        return send(reply, response);
      });
    }
  });
}

/** GET /.well-known/oauth-authorization-server (and, with `jwks`, GET /oauth/jwks) on `app`. */
export function registerOAuthMetadataRoutes(
  app: AnyFastify,
  metadata: () => Record<string, unknown>,
  jwks?: () => { keys: PublicSigningJwk[] },
): void {
  // Built at the first request: the token listener's port is known once the gateway listens.
  let document: string | undefined;
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    document ??= JSON.stringify(metadata());
    return reply
      .header('cache-control', 'public, max-age=60')
      .type('application/json; charset=utf-8')
      .send(document);
  });
  if (jwks !== undefined) {
    app.get('/oauth/jwks', async (_request, reply) =>
      reply
        .header('cache-control', 'public, max-age=60')
        .type('application/jwk-set+json; charset=utf-8')
        .send(JSON.stringify(jwks())),
    );
  }
}
