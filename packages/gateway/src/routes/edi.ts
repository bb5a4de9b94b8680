/**
 * EDI X12 over HTTPS on the control plane (issue 6 §6; docs/tendering.md "Transport", "Outbound 990/214
 * and the outbox"), behind the same resource server as the REST API: mTLS plus a bound access token with
 * `tenders:write` to upload an interchange, `tenders:read` to read the outbox. The partner is the
 * verified token's client, never anything in the file (ISA06 must match it). The upload body is the raw
 * X12 (application/edi-x12 or text/plain), capped at the codec's maxFileBytes before it is read; JSON and
 * any other type are refused. EDI_API is also part of the OpenAPI document (routes/control-plane.ts).
 */
import type { AuthContext } from '../auth/resource/authorize.ts';
import { DEFAULT_EDI_LIMITS } from '../edi/limits.ts';
import { listOutbound, readOutbound } from '../edi-channel/outbox.ts';
import { EdiChannelError, type ReceiveDeps, receiveInterchange } from '../edi-channel/receive-interchange.ts';
import { ediSettingsOf, partnerEdiOf } from '../edi-channel/settings.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayEvents } from '../events.ts';
import { type ApiAuth, type ApiHandler, registerApiRoutes } from '../http/api-routes.ts';
import type { AnyFastify } from '../http/common.ts';
import type { ApiRoute } from '../http/openapi.ts';
import type { TenderDeps } from '../tendering/create-tender.ts';
import { receiptSchema } from '../tendering/schemas.ts';

export const EDI_MEDIA_TYPES = ['application/edi-x12', 'text/plain'] as const;

const nullable = (type: string) => ({ type: [type, 'null'] });

const outboundRefSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'controlNumber', 'x12'],
  properties: {
    id: { type: 'string' },
    type: { enum: ['997', '990', '214'] },
    controlNumber: { type: 'string', pattern: '^[0-9]{9}$' },
    x12: { type: 'string' },
  },
};

const setResultSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'groupControlNumber',
    'transactionSetId',
    'setControlNumber',
    'shipmentId',
    'purpose',
    'outcome',
    'tenderId',
    'decision',
    'reasons',
    'receipt',
  ],
  properties: {
    groupControlNumber: { type: 'string' },
    transactionSetId: { type: 'string' },
    setControlNumber: { type: 'string' },
    shipmentId: nullable('string'),
    purpose: { enum: ['original', 'cancellation', 'change', 'replace', null] },
    outcome: { enum: ['created', 'cancelled', 'rejected', 'refused', 'not_found', 'sandbox'] },
    tenderId: nullable('string'),
    decision: { enum: ['accepted', 'declined', 'pending_review', 'cancelled', null] },
    reasons: { type: 'array', items: { type: 'string' } },
    receipt: { oneOf: [receiptSchema, { type: 'null' }] },
  },
};

const interchangeResultSchema = {
  description: 'The interchange was received: per-set results, the 997 and any immediate 990',
  type: 'object',
  additionalProperties: false,
  required: [
    'interchangeControlNumber',
    'version',
    'sandbox',
    'sets',
    'acknowledgments',
    'tenderResponses',
    'receipt',
  ],
  properties: {
    interchangeControlNumber: { type: 'string', pattern: '^[0-9]{9}$' },
    version: { enum: ['4010', '5010'] },
    sandbox: { type: 'boolean' },
    sets: { type: 'array', items: setResultSchema },
    acknowledgments: { type: 'array', items: outboundRefSchema },
    tenderResponses: { type: 'array', items: outboundRefSchema },
    receipt: receiptSchema,
  },
};

const outboundItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'tenderId', 'controlNumber', 'sandbox', 'createdAt'],
  properties: {
    id: { type: 'string' },
    type: { enum: ['997', '990', '214'] },
    tenderId: nullable('string'),
    controlNumber: { type: 'string' },
    sandbox: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
  },
};

const outboundQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'string', pattern: '^[0-9]{1,18}$' },
    limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' },
  },
};

const outboundParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9]{1,18}$' } },
};

/** The EDI routes: method, path, scope, schemas and documented errors (handlers below). */
export const EDI_API: readonly ApiRoute[] = [
  {
    method: 'POST',
    url: '/v1/edi/interchanges',
    operationId: 'uploadInterchange',
    summary: 'Upload an X12 interchange (204 load tenders)',
    description:
      "One interchange, 4010 or 5010. ISA05/ISA06 must be the calling partner and ISA07/ISA08 the gateway. Each 204 becomes a tender exactly as POST /v1/tenders; B2A01 01 cancels the partner's own tender with that shipment id. ISA15=T is answered from the sandbox and creates nothing. A repeated ISA13 is refused. The 997 (and any immediate 990) is in the answer and in the outbox.",
    tag: 'edi',
    scope: 'tenders:write',
    schema: { response: { 200: interchangeResultSchema } },
    rawBody: {
      mediaTypes: EDI_MEDIA_TYPES,
      schema: { type: 'string', description: 'X12 text', maxLength: DEFAULT_EDI_LIMITS.maxFileBytes },
    },
    errors: [
      'REQUEST_BODY_TOO_LARGE',
      'REQUEST_UNSUPPORTED_MEDIA_TYPE',
      'EDI_INTERCHANGE_INVALID',
      'EDI_PARTNER_NOT_CONFIGURED',
      'EDI_SENDER_MISMATCH',
      'EDI_INTERCHANGE_DUPLICATE',
      'EDI_SANDBOX_RATE_LIMITED',
    ],
  },
  {
    method: 'GET',
    url: '/v1/edi/outbound',
    operationId: 'listOutboundEdi',
    summary: "The partner's outbound EDI messages (997, 990, 214), oldest first",
    description: 'Messages with an id above `after`; poll with the last `nextAfter`.',
    tag: 'edi',
    scope: 'tenders:read',
    schema: {
      querystring: outboundQuery,
      response: {
        200: {
          description: 'A page',
          type: 'object',
          additionalProperties: false,
          required: ['items', 'nextAfter'],
          properties: { items: { type: 'array', items: outboundItemSchema }, nextAfter: { type: 'string' } },
        },
      },
    },
    errors: ['REQUEST_INVALID', 'EDI_PARTNER_NOT_CONFIGURED'],
  },
  {
    method: 'GET',
    url: '/v1/edi/outbound/:id',
    operationId: 'getOutboundEdi',
    summary: 'One outbound EDI message, as X12',
    description: "Another partner's message is answered exactly like a missing one.",
    tag: 'edi',
    scope: 'tenders:read',
    schema: {
      params: outboundParams,
      response: { 200: { description: 'The X12 interchange', type: 'string' } },
    },
    responseMediaTypes: { 200: 'application/edi-x12' },
    errors: ['REQUEST_INVALID', 'EDI_PARTNER_NOT_CONFIGURED', 'EDI_OUTBOUND_NOT_FOUND'],
  },
];

export function registerEdiRoutes(
  app: AnyFastify,
  deps: TenderDeps,
  auth: ApiAuth,
  events?: GatewayEvents,
): void {
  const settings = ediSettingsOf(deps.config);
  const receiveDeps: ReceiveDeps = {
    ...deps,
    settings,
    fleetVehicles: deps.config.fleet?.vehicles ?? [],
    ...(events === undefined ? {} : { events }),
  };
  const reader = (context: AuthContext) => {
    if (partnerEdiOf(settings, context.clientId) === undefined)
      throw new GatewayError('EDI_PARTNER_NOT_CONFIGURED');
    return { id: context.clientId, tenant: context.tenant };
  };
  const handlers: Record<string, ApiHandler> = {
    uploadInterchange: async ({ body, url, context }) => {
      if (!Buffer.isBuffer(body)) throw new GatewayError('REQUEST_UNSUPPORTED_MEDIA_TYPE');
      try {
        const result = await receiveInterchange(
          receiveDeps,
          {
            id: context.clientId,
            tenant: context.tenant,
            certSha256: context.certSha256,
            policy: context.policy,
            tokenId: context.tokenId,
          },
          body,
          'upload',
        );
        return { status: 200, body: result };
      } catch (error) {
        if (!(error instanceof EdiChannelError)) throw error;
        if (error.ediCode === undefined && error.acknowledgment === undefined) throw error;
        // problem+json with the codec's code and the 997 R as extension members (RFC 9457 §3.2).
        const problem = {
          ...error.toProblem(url.length <= 256 ? url : undefined),
          ...(error.ediCode === undefined ? {} : { ediCode: error.ediCode }),
          ...(error.acknowledgment === undefined ? {} : { acknowledgment: error.acknowledgment }),
        };
        return { status: error.status, body: problem, type: 'application/problem+json' };
      }
    },
    listOutboundEdi: async ({ query, context }) => {
      const q = query as { after?: string; limit?: string };
      const page = await listOutbound(
        deps.store,
        reader(context),
        q.after ?? '0',
        q.limit === undefined ? 100 : Number(q.limit),
      );
      return { status: 200, body: page };
    },
    getOutboundEdi: async ({ params, context }) => {
      const { id } = params as { id: string };
      const x12 = await readOutbound(deps.store, reader(context), id);
      return { status: 200, body: x12, type: 'application/edi-x12' };
    },
  };

  // An encapsulated scope: only X12 bodies are parsed here (JSON and anything else: 415).
  void app.register(async (scope: AnyFastify) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      [...EDI_MEDIA_TYPES],
      { parseAs: 'buffer', bodyLimit: DEFAULT_EDI_LIMITS.maxFileBytes },
      (_request, body, done) => done(null, body),
    );
    registerApiRoutes(scope, EDI_API, handlers, auth);
  });
}
