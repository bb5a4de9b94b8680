/**
 * Registers a route table of the control-plane API (ApiRoute, http/openapi.ts: the same objects the
 * OpenAPI document is generated from, so what fastify validates is what is documented) with one handler
 * per operationId. Each route gets the resource server's hook (auth/resource/authorize.ts) as its
 * onRequest, so a request without a valid bound token carrying the route's scope is refused before its
 * body is read; the handler sees only the validated request and the verified AuthContext, never the raw
 * fastify objects, and answers a status, a body and any headers. A route without a handler fails at
 * startup, never at request time.
 */
import type { AuthContext, ResourceServer, Scope } from '../auth/resource/authorize.ts';
import type { AnyFastify } from './common.ts';
import type { ApiRoute } from './openapi.ts';

/**
 * The authorization the routes need: the resource server in the gateway; anything that yields an
 * AuthContext the same way in a benchmark's no-authorization baseline.
 */
export type ApiAuth = Pick<ResourceServer, 'hook' | 'contextOf'>;

/** What a handler sees: the request as fastify validated it, and who is calling. */
export interface ApiRequest {
  body: unknown;
  params: unknown;
  query: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** The request target, for a problem's `instance`. */
  url: string;
  context: AuthContext;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** The content type when the body is not JSON (X12, problem+json with extension members). */
  type?: string;
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiAnswer>;

export function registerApiRoutes(
  app: AnyFastify,
  routes: readonly ApiRoute[],
  handlers: Readonly<Record<string, ApiHandler>>,
  auth: ApiAuth,
): void {
  for (const route of routes) {
    const handler = handlers[route.operationId];
    if (handler === undefined) throw new Error(`no handler for ${route.operationId}`);
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      onRequest: auth.hook({ scope: route.scope as Scope }),
      handler: async (request, reply) => {
        const answer = await handler({
          body: request.body,
          params: request.params,
          query: request.query,
          headers: request.headers,
          url: request.url,
          context: auth.contextOf(request),
        });
        for (const [name, value] of Object.entries(answer.headers ?? {})) reply.header(name, value);
        if (answer.type !== undefined) reply.type(answer.type);
        return reply.code(answer.status).send(answer.body);
      },
    });
  }
}
