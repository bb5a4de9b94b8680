/**
 * An OpenAPI 3.1 document generated from route definitions (OpenAPI Specification 3.1.0 §4.8; JSON
 * Schema 2020-12, which 3.1 uses unchanged): every route's body, path, query and header schemas — the
 * same objects fastify validates with — become its request body and parameters, its response schemas
 * its responses, and its documented error codes RFC 9457 problem responses. No library: the mapping is
 * small, deterministic (same input, same bytes), and the document is committed as docs/openapi.json and
 * regenerated and diffed by a test, so it cannot drift from the routes.
 */
import { ERROR_CODES, type ErrorCode } from '../errors/codes.ts';

type Schema = Record<string, unknown>;

export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** fastify form: `/v1/tenders/:id`. */
  url: string;
  operationId: string;
  summary: string;
  description: string;
  tag: string;
  /** OAuth scope the route requires; null: the mTLS client certificate alone. */
  scope: string | null;
  schema: {
    body?: Schema;
    params?: Schema;
    querystring?: Schema;
    headers?: Schema;
    response: Record<number, Schema>;
  };
  /** Problem codes the route itself answers (token refusals are common to every scoped route). */
  errors: readonly ErrorCode[];
  /** A body that is not JSON (X12): its media types and schema; fastify does not validate it. */
  rawBody?: { mediaTypes: readonly string[]; schema: Schema };
  /** Response media type by status when not application/json (e.g. application/edi-x12). */
  responseMediaTypes?: Record<number, string>;
  /** Response headers by status, e.g. Location, Idempotent-Replayed. */
  responseHeaders?: Record<number, Record<string, { description: string; schema: Schema }>>;
}

export interface ApiInfo {
  title: string;
  version: string;
  description: string;
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string' },
    detail: { type: 'string' },
    instance: { type: 'string' },
  },
};

const AUTH_ERRORS = {
  401: 'Access token missing, invalid, expired, revoked, or not bound to this connection (docs/auth.md#errors)',
  403: 'Insufficient scope, identity not allowed, or a client policy refusal (docs/auth.md#errors)',
};

const toPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function parameters(route: ApiRoute): Schema[] {
  const out: Schema[] = [];
  const add = (where: 'path' | 'query' | 'header', schema: Schema | undefined) => {
    const props = (schema?.properties ?? {}) as Record<string, Schema>;
    const required = (schema?.required ?? []) as string[];
    for (const [name, s] of Object.entries(props)) {
      out.push({ name, in: where, required: where === 'path' || required.includes(name), schema: s });
    }
  };
  add('path', route.schema.params);
  add('query', route.schema.querystring);
  add('header', route.schema.headers);
  return out;
}

function responses(route: ApiRoute): Schema {
  const out: Record<string, Schema> = {};
  for (const [status, schema] of Object.entries(route.schema.response)) {
    const headers = route.responseHeaders?.[Number(status)];
    out[status] = {
      description: String(schema.description ?? 'OK'),
      ...(headers === undefined ? {} : { headers }),
      content: { [route.responseMediaTypes?.[Number(status)] ?? 'application/json']: { schema } },
    };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of route.errors) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  if (route.scope !== null) {
    for (const status of [401, 403] as const) if (!byStatus.has(status)) byStatus.set(status, []);
  }
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const codes = byStatus.get(status) ?? [];
    const described = codes.map((c) => `${c}: ${ERROR_CODES[c].title}`);
    if (route.scope !== null && (status === 401 || status === 403)) described.push(AUTH_ERRORS[status]);
    out[String(status)] = {
      description: described.join('; '),
      content: {
        'application/problem+json': {
          schema:
            codes.length === 0 || status === 401 || status === 403
              ? { $ref: '#/components/schemas/Problem' }
              : {
                  allOf: [
                    { $ref: '#/components/schemas/Problem' },
                    { type: 'object', properties: { code: { enum: codes } } },
                  ],
                },
        },
      },
    };
  }
  return out;
}

export function buildOpenApiDocument(
  info: ApiInfo,
  routes: readonly ApiRoute[],
  scopes: readonly string[],
): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of routes) {
    const path = toPath(route.url);
    const operation: Schema = {
      operationId: route.operationId,
      summary: route.summary,
      description: route.description,
      tags: [route.tag],
      security: [
        route.scope === null ? { partnerCertificate: [] } : { partnerCertificate: [], oauth2: [route.scope] },
      ],
    };
    const params = parameters(route);
    if (params.length > 0) operation.parameters = params;
    if (route.schema.body !== undefined) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: route.schema.body } },
      };
    } else if (route.rawBody !== undefined) {
      const { mediaTypes, schema } = route.rawBody;
      operation.requestBody = {
        required: true,
        content: Object.fromEntries(mediaTypes.map((type) => [type, { schema }])),
      };
    }
    operation.responses = responses(route);
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title,
      version: info.version,
      description: info.description,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: 'https://localhost:8443', description: 'control plane (mTLS, TLS 1.3)' }],
    security: [{ partnerCertificate: [] }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: {
        partnerCertificate: {
          type: 'mutualTLS',
          description: 'A partner certificate from the fleetgate CA (SAN URI urn:fleetgate:partner:<id>)',
        },
        oauth2: {
          type: 'oauth2',
          description:
            'client_credentials; the access token is bound to the client certificate (RFC 8705) or to a DPoP key (RFC 9449, Authorization: DPoP)',
          flows: {
            clientCredentials: {
              tokenUrl: '/oauth/token',
              scopes: Object.fromEntries(scopes.map((s) => [s, `the ${s} scope`])),
            },
          },
        },
      },
    },
  };
}

/** The document as committed: two-space JSON and a final newline. */
export function renderOpenApiDocument(document: Schema): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
