/**
 * Webhook routes of the control plane (issue 6 §5; docs/tendering.md "Webhooks"): a partner manages its
 * endpoints (`tenders:write` to create, delete and rotate a secret; `tenders:read` to list) and reads its
 * deliveries, the dead-letter list among them, and redelivers (`tenders:read` to list, `tenders:write` to
 * redeliver). Same pattern as routes/control-plane.ts: a route table (also the OpenAPI source, included in
 * docs/openapi.json by control-plane.ts), the resource server's hook as each route's onRequest, the
 * partner and tenant from the verified token, closed JSON schemas. Another partner's endpoint or delivery
 * is answered exactly like a missing one.
 */
import type { AuthContext } from '../auth/resource/authorize.ts';
import { type ApiAuth, type ApiHandler, registerApiRoutes } from '../http/api-routes.ts';
import type { AnyFastify } from '../http/common.ts';
import type { ApiRoute } from '../http/openapi.ts';
import {
  DELIVERY_ID_PATTERN,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  listDeliveries,
  redeliver,
} from '../webhooks/deliveries.ts';
import {
  createEndpoint,
  deleteEndpoint,
  ENDPOINT_ID_PATTERN,
  listEndpoints,
  rotateSecret,
  type WebhookDeps,
  type WebhookPartner,
} from '../webhooks/endpoints.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhooks/event.ts';

const described = (description: string, schema: object) => ({ description, ...schema });
const instant = { type: 'string', format: 'date-time' } as const;
const nullableInstant = { type: ['string', 'null'], format: 'date-time' } as const;
const eventTypes = {
  type: 'array',
  minItems: 1,
  maxItems: WEBHOOK_EVENT_TYPES.length,
  items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
} as const;

const endpointSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url', 'eventTypes', 'createdAt', 'previousSecretExpiresAt'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    eventTypes: { anyOf: [eventTypes, { type: 'null' }] },
    createdAt: instant,
    previousSecretExpiresAt: nullableInstant,
  },
} as const;

const withSecret = {
  type: 'object',
  additionalProperties: false,
  required: ['endpoint', 'secret'],
  properties: {
    endpoint: endpointSchema,
    secret: {
      type: 'string',
      description: 'The whsec_ signing secret. Shown only in this answer: store it now.',
    },
  },
} as const;

const attemptSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['n', 'series', 'attemptedAt', 'durationMs', 'statusCode', 'errorCode'],
  properties: {
    n: { type: 'integer' },
    series: { type: 'integer' },
    attemptedAt: instant,
    durationMs: { type: 'integer' },
    statusCode: { type: ['integer', 'null'] },
    errorCode: { type: ['string', 'null'] },
  },
} as const;

const deliverySchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'endpointId',
    'messageId',
    'eventType',
    'status',
    'attempts',
    'totalAttempts',
    'nextAttemptAt',
    'lastStatusCode',
    'lastError',
    'auditIndex',
    'createdAt',
    'updatedAt',
    'recentAttempts',
  ],
  properties: {
    id: { type: 'string' },
    endpointId: { type: 'string' },
    messageId: { type: 'string', description: 'The webhook-id header and payload id' },
    eventType: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
    status: { type: 'string', enum: [...DELIVERY_STATUSES] },
    attempts: { type: 'integer', description: 'Attempts in the current series' },
    totalAttempts: { type: 'integer' },
    nextAttemptAt: nullableInstant,
    lastStatusCode: { type: ['integer', 'null'] },
    lastError: { type: ['string', 'null'], description: 'A WEBHOOK_TARGET_* code (docs/errors.md)' },
    auditIndex: { type: 'integer' },
    createdAt: instant,
    updatedAt: instant,
    recentAttempts: { type: 'array', items: attemptSchema },
  },
} as const;

const endpointParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: ENDPOINT_ID_PATTERN } },
} as const;

const deliveryParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: DELIVERY_ID_PATTERN } },
} as const;

/** The webhook routes: method, path, scope, schemas and documented errors (handlers below). */
export const WEBHOOK_API: readonly ApiRoute[] = [
  {
    method: 'POST',
    url: '/v1/webhooks/endpoints',
    operationId: 'createWebhookEndpoint',
    summary: 'Register a webhook endpoint',
    description:
      "The URL must be https, without userinfo or fragment, and inside the partner's allow-list. Answers the endpoint and its whsec_ signing secret, shown this once.",
    tag: 'webhooks',
    scope: 'tenders:write',
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: { url: { type: 'string', minLength: 9, maxLength: 2048 }, eventTypes },
      },
      response: { 201: described('Created', withSecret) },
    },
    errors: ['REQUEST_INVALID', 'WEBHOOK_URL_INVALID', 'WEBHOOK_URL_NOT_ALLOWED', 'WEBHOOK_ENDPOINT_LIMIT'],
    responseHeaders: { 201: { Location: { description: 'The endpoint', schema: { type: 'string' } } } },
  },
  {
    method: 'GET',
    url: '/v1/webhooks/endpoints',
    operationId: 'listWebhookEndpoints',
    summary: "The partner's webhook endpoints",
    description: 'Active endpoints, oldest first; never their secrets.',
    tag: 'webhooks',
    scope: 'tenders:read',
    schema: {
      response: {
        200: described('The endpoints', {
          type: 'object',
          additionalProperties: false,
          required: ['items'],
          properties: { items: { type: 'array', items: endpointSchema } },
        }),
      },
    },
    errors: [],
  },
  {
    method: 'DELETE',
    url: '/v1/webhooks/endpoints/:id',
    operationId: 'deleteWebhookEndpoint',
    summary: 'Delete a webhook endpoint',
    description: 'Its pending deliveries are cancelled and its secrets erased.',
    tag: 'webhooks',
    scope: 'tenders:write',
    schema: {
      params: endpointParams,
      response: {
        200: described('Deleted', {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'deleted'],
          properties: { id: { type: 'string' }, deleted: { type: 'boolean' } },
        }),
      },
    },
    errors: ['REQUEST_INVALID', 'WEBHOOK_ENDPOINT_NOT_FOUND'],
  },
  {
    method: 'POST',
    url: '/v1/webhooks/endpoints/:id/rotate-secret',
    operationId: 'rotateWebhookSecret',
    summary: "Rotate an endpoint's signing secret",
    description:
      'Answers the new secret (shown this once). The previous one keeps signing alongside it — two space-separated v1 signatures — until previousSecretExpiresAt (24 h by default).',
    tag: 'webhooks',
    scope: 'tenders:write',
    schema: { params: endpointParams, response: { 200: described('Rotated', withSecret) } },
    errors: ['REQUEST_INVALID', 'WEBHOOK_ENDPOINT_NOT_FOUND'],
  },
  {
    method: 'GET',
    url: '/v1/webhooks/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: "The partner's webhook deliveries, newest first",
    description:
      '`status=dead` is the dead-letter list (deliveries whose attempts are exhausted). Each delivery carries its recent attempts: time, duration, HTTP status or WEBHOOK_TARGET_* code.',
    tag: 'webhooks',
    scope: 'tenders:read',
    schema: {
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          status: { type: 'string', enum: [...DELIVERY_STATUSES] },
          endpointId: { type: 'string', pattern: ENDPOINT_ID_PATTERN },
          cursor: { type: 'string', minLength: 1, maxLength: 64 },
          limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$' },
        },
      },
      response: {
        200: described('A page', {
          type: 'object',
          additionalProperties: false,
          required: ['items', 'nextCursor'],
          properties: {
            items: { type: 'array', items: deliverySchema },
            nextCursor: { type: ['string', 'null'] },
          },
        }),
      },
    },
    errors: ['REQUEST_INVALID'],
  },
  {
    method: 'POST',
    url: '/v1/webhooks/deliveries/:id/redeliver',
    operationId: 'redeliverWebhook',
    summary: 'Redeliver a dead (or delivered) webhook',
    description:
      'Starts a new attempt series now, with the same webhook-id and payload; receivers deduplicate on webhook-id.',
    tag: 'webhooks',
    scope: 'tenders:write',
    schema: { params: deliveryParams, response: { 202: described('Queued', deliverySchema) } },
    errors: ['REQUEST_INVALID', 'WEBHOOK_DELIVERY_NOT_FOUND', 'WEBHOOK_DELIVERY_IN_PROGRESS'],
  },
];

export function registerWebhookRoutes(
  app: AnyFastify,
  deps: WebhookDeps,
  auth: ApiAuth,
  wake: () => void = () => {},
): void {
  const partnerOf = (context: AuthContext): WebhookPartner => ({
    id: context.clientId,
    tenant: context.tenant,
    certSha256: context.certSha256,
  });
  const idOf = (params: unknown) => (params as { id: string }).id;
  const handlers: Record<string, ApiHandler> = {
    createWebhookEndpoint: async ({ body, context }) => {
      const b = body as { url: string; eventTypes?: WebhookEventType[] };
      const created = await createEndpoint(deps, partnerOf(context), b);
      return {
        status: 201,
        body: created,
        headers: { location: `/v1/webhooks/endpoints/${created.endpoint.id}` },
      };
    },
    listWebhookEndpoints: async ({ context }) => ({
      status: 200,
      body: { items: await listEndpoints(deps, partnerOf(context)) },
    }),
    deleteWebhookEndpoint: async ({ params, context }) => {
      await deleteEndpoint(deps, partnerOf(context), idOf(params));
      return { status: 200, body: { id: idOf(params), deleted: true } };
    },
    rotateWebhookSecret: async ({ params, context }) => ({
      status: 200,
      body: await rotateSecret(deps, partnerOf(context), idOf(params)),
    }),
    listWebhookDeliveries: async ({ query, context }) => {
      const q = query as { status?: DeliveryStatus; endpointId?: string; cursor?: string; limit?: string };
      return {
        status: 200,
        body: await listDeliveries(deps, partnerOf(context), {
          ...(q.status === undefined ? {} : { status: q.status }),
          ...(q.endpointId === undefined ? {} : { endpointId: q.endpointId }),
          ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
          ...(q.limit === undefined ? {} : { limit: Number(q.limit) }),
        }),
      };
    },
    redeliverWebhook: async ({ params, context }) => {
      const view = await redeliver(deps, partnerOf(context), idOf(params));
      wake();
      return { status: 202, body: view };
    },
  };

  registerApiRoutes(app, WEBHOOK_API, handlers, auth);
}
