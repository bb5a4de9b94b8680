/**
 * Control-plane routes for TMS partners and fleet operators over mTLS (REST API v1, issue 6; docs/api.md),
 * each behind the resource server (issue 4): a bound access token with the route's scope —
 * `tenders:write` to tender and cancel, `tenders:read` to read, `tracking:read` for tracking, `admin` for
 * fleet events and the human review queue. The partner and its tenant come from the verified token and
 * client certificate; tenant routes run under row-level security (tendering/tenant-scope.ts). Every JSON
 * schema refuses unknown properties (no mass assignment of status, rate or tenant) and fastify's Ajv runs
 * without coercion or removal. A tender is checked against the client's policy (lanes, equipment, time
 * windows) before it is decided. The route table below is also the source of the OpenAPI 3.1 document
 * (http/openapi.ts), served at GET /openapi.json and committed as docs/openapi.json.
 */
import { enforceTenderPolicy } from '../auth/policy/enforce-tender.ts';
import type { AuthContext } from '../auth/resource/authorize.ts';
import { SCOPES } from '../auth/server/client-registry.ts';
import type { GatewayEvents } from '../events.ts';
import { type ApiAuth, type ApiHandler, registerApiRoutes } from '../http/api-routes.ts';
import type { AnyFastify } from '../http/common.ts';
import { type ApiRoute, buildOpenApiDocument } from '../http/openapi.ts';
import {
  createdBody,
  createTenderIdempotent,
  type TenderDeps,
  type TenderPartner,
} from '../tendering/create-tender.ts';
import type { TenderRequest } from '../tendering/decide.ts';
import type { FleetEvent, TenderStatus } from '../tendering/lifecycle.ts';
import { getTender, listReviewQueue, listTenders } from '../tendering/read-tenders.ts';
import * as s from '../tendering/schemas.ts';
import { getTracking } from '../tendering/tracking.ts';
import { transitionTender } from '../tendering/transition-tender.ts';
import { EDI_API, registerEdiRoutes } from './edi.ts';
import { WEBHOOK_API } from './webhooks.ts';

export const tenderRequestSchema = s.tenderRequestSchema;

const described = (description: string, schema: object) => ({ description, ...schema });

/** The API v1 route table: method, path, scope, schemas and documented errors (handlers below). */
export const CONTROL_PLANE_API: readonly ApiRoute[] = [
  {
    method: 'POST',
    url: '/v1/tenders',
    operationId: 'createTender',
    summary: 'Tender a load',
    description:
      'Decides the tender at once (accepted, declined, or pending_review for a human) with reason codes. An Idempotency-Key replays the first response for the same body and refuses a different body.',
    tag: 'tenders',
    scope: 'tenders:write',
    schema: {
      body: s.tenderRequestSchema,
      headers: s.createHeaders,
      response: {
        201: described('Created (or replayed for a known Idempotency-Key)', s.createdTenderSchema),
      },
    },
    errors: ['REQUEST_INVALID', 'TENDER_DUPLICATE_REFERENCE', 'TENDER_IDEMPOTENCY_KEY_REUSED'],
    responseHeaders: {
      201: {
        Location: { description: 'The tender', schema: { type: 'string' } },
        'Idempotent-Replayed': { description: '"true" when replayed', schema: { type: 'string' } },
      },
    },
  },
  {
    method: 'GET',
    url: '/v1/tenders',
    operationId: 'listTenders',
    summary: "The partner's tenders, newest first",
    description:
      'Keyset pages of the tenders of the calling partner (its tenant only); `nextCursor` fetches the next.',
    tag: 'tenders',
    scope: 'tenders:read',
    schema: { querystring: s.listQuery, response: { 200: described('A page', s.tenderPageSchema) } },
    errors: ['REQUEST_INVALID', 'TENDER_CURSOR_INVALID'],
  },
  {
    method: 'GET',
    url: '/v1/tenders/:id',
    operationId: 'getTender',
    summary: 'One tender',
    description: "Another partner's tender is answered exactly like a missing one.",
    tag: 'tenders',
    scope: 'tenders:read',
    schema: { params: s.tenderIdParams, response: { 200: described('The tender', s.tenderViewSchema) } },
    errors: ['REQUEST_INVALID', 'TENDER_NOT_FOUND'],
  },
  {
    method: 'POST',
    url: '/v1/tenders/:id/cancel',
    operationId: 'cancelTender',
    summary: 'Cancel a tender',
    description:
      'Allowed until the load is on the truck (received, pending_review, accepted, dispatched, at_pickup).',
    tag: 'tenders',
    scope: 'tenders:write',
    schema: {
      params: s.tenderIdParams,
      body: s.cancelBody,
      response: { 200: described('The cancelled tender', s.tenderViewSchema) },
    },
    errors: ['REQUEST_INVALID', 'TENDER_NOT_FOUND', 'TENDER_TRANSITION_ILLEGAL'],
  },
  {
    method: 'POST',
    url: '/v1/tenders/:id/events',
    operationId: 'recordFleetEvent',
    summary: 'Record a fleet-side status update (operators)',
    description:
      'dispatched (naming a fleet vehicle), at_pickup, loaded, in_transit, at_delivery, delivered; exceptions delayed, safe_stopped, handed_to_human_carrier; resumed.',
    tag: 'operations',
    scope: 'admin',
    schema: {
      params: s.tenderIdParams,
      body: s.eventBody,
      response: { 200: described('The tender after the event', s.tenderViewSchema) },
    },
    errors: ['REQUEST_INVALID', 'TENDER_NOT_FOUND', 'TENDER_TRANSITION_ILLEGAL', 'TENDER_VEHICLE_UNKNOWN'],
  },
  {
    method: 'GET',
    url: '/v1/loads/:id/tracking',
    operationId: 'getTracking',
    summary: 'Positions, status history and ETA of a load',
    description: 'Positions come from verified telemetry of the truck assigned at dispatch, for this load.',
    tag: 'tracking',
    scope: 'tracking:read',
    schema: { params: s.tenderIdParams, response: { 200: described('Tracking', s.trackingSchema) } },
    errors: ['REQUEST_INVALID', 'TENDER_NOT_FOUND'],
  },
  {
    method: 'GET',
    url: '/v1/review/tenders',
    operationId: 'listReviewQueue',
    summary: 'The human review queue (operators)',
    description: "Every tenant's tenders in pending_review, oldest first.",
    tag: 'operations',
    scope: 'admin',
    schema: { querystring: s.reviewQuery, response: { 200: described('A page', s.reviewPageSchema) } },
    errors: ['REQUEST_INVALID', 'TENDER_CURSOR_INVALID'],
  },
  {
    method: 'POST',
    url: '/v1/review/tenders/:id/decision',
    operationId: 'decideTender',
    summary: 'Accept or decline a tender in review, or override a decision (operators)',
    description: 'A non-blank `reason` is required; the decision, the operator and the reason are audited.',
    tag: 'operations',
    scope: 'admin',
    schema: {
      params: s.tenderIdParams,
      body: s.decisionBody,
      response: { 200: described('The tender after the decision', s.tenderViewSchema) },
    },
    errors: ['REQUEST_INVALID', 'TENDER_NOT_FOUND', 'TENDER_TRANSITION_ILLEGAL', 'TENDER_REASON_REQUIRED'],
  },
];

export const API_INFO = {
  title: 'fleetgate control plane',
  version: '1.0.0',
  description:
    'Tendering and tracking for TMS partners and fleet operators. Generated from the route schemas.',
};

/** The OpenAPI 3.1 document of CONTROL_PLANE_API and the webhook routes (docs/openapi.json). */
export function controlPlaneOpenApi(): Record<string, unknown> {
  return buildOpenApiDocument(API_INFO, [...CONTROL_PLANE_API, ...WEBHOOK_API, ...EDI_API], SCOPES);
}

/**
 * The authorization the routes need: the resource server (auth/resource/authorize.ts) in the gateway;
 * anything that yields an AuthContext the same way in a benchmark's no-authorization baseline.
 */
export type ControlPlaneAuth = ApiAuth;

export function registerControlPlaneRoutes(
  app: AnyFastify,
  deps: TenderDeps,
  auth: ControlPlaneAuth,
  events: GatewayEvents,
): void {
  // Authorization runs as the routes' onRequest hook: a request without a valid bound token is refused
  // before its body is even read. The partner and tenant come from the verified token, which authorize()
  // has tied to this connection's partner certificate; its thumbprint goes into the tender's audit entry.
  const partnerOf = (context: AuthContext): TenderPartner => ({
    id: context.clientId,
    tenant: context.tenant,
    certSha256: context.certSha256,
  });
  const reader = { store: deps.store, origin: deps.audit.origin };
  const transitions = {
    store: deps.store,
    audit: deps.audit,
    now: deps.now,
    fleetVehicles: deps.config.fleet?.vehicles ?? [],
  };
  const idOf = (params: unknown) => (params as { id: string }).id;
  const ok = (body: unknown) => ({ status: 200, body });
  const pageQuery = (query: unknown) => {
    const q = query as { status?: TenderStatus; cursor?: string; limit?: string };
    return {
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      ...(q.limit === undefined ? {} : { limit: Number(q.limit) }),
    };
  };
  const operator = (context: AuthContext) => ({
    kind: 'operator' as const,
    id: context.clientId,
    certSha256: context.certSha256,
  });

  const handlers: Record<string, ApiHandler> = {
    createTender: async ({ body, headers, context }) => {
      const partner = partnerOf(context);
      const tender = body as TenderRequest;
      await enforceTenderPolicy(
        { audit: deps.audit, lanes: deps.config.lanes },
        context,
        context.policy,
        tender,
      );
      const key = headers['idempotency-key'];
      const outcome = await createTenderIdempotent(
        deps,
        partner,
        tender,
        typeof key === 'string' ? key : undefined,
      );
      if (outcome.replayed) {
        return {
          status: 201,
          body: outcome.body,
          headers: { location: `/v1/tenders/${outcome.body.id}`, 'idempotent-replayed': 'true' },
        };
      }
      const { result } = outcome;
      if (result.decision !== 'pending_review') {
        events.emit('tender.decided', {
          partnerId: partner.id,
          tenderId: result.id,
          decision: result.decision,
          reasons: result.reasons,
        });
      }
      return { status: 201, body: createdBody(result), headers: { location: `/v1/tenders/${result.id}` } };
    },
    listTenders: async ({ query, context }) =>
      ok(await listTenders(reader, partnerOf(context), pageQuery(query))),
    getTender: async ({ params, context }) => ok(await getTender(reader, partnerOf(context), idOf(params))),
    cancelTender: async ({ params, body, context }) => {
      const reason = (body as { reason?: string } | undefined)?.reason;
      const actor = { kind: 'partner' as const, ...partnerOf(context) };
      return ok(
        await transitionTender(transitions, actor, idOf(params), {
          event: 'cancel',
          ...(reason === undefined ? {} : { reason }),
        }),
      );
    },
    recordFleetEvent: async ({ params, body, context }) => {
      const b = body as {
        event: FleetEvent;
        vehicleId?: string;
        loadId?: string;
        occurredAt?: string;
        reason?: string;
      };
      return ok(await transitionTender(transitions, operator(context), idOf(params), b));
    },
    getTracking: async ({ params, context }) =>
      ok(
        await getTracking(
          { store: deps.store, origin: deps.audit.origin, config: deps.config, now: deps.now },
          partnerOf(context),
          idOf(params),
        ),
      ),
    listReviewQueue: async ({ query }) => ok(await listReviewQueue(reader, pageQuery(query))),
    decideTender: async ({ params, body, context }) => {
      const b = body as { decision: 'accept' | 'decline'; reason?: string };
      // Operator decisions are audited (tender.reviewed / tender.overridden); tender.decided counts the engine's.
      const view = await transitionTender(transitions, operator(context), idOf(params), {
        event: b.decision,
        ...(b.reason === undefined ? {} : { reason: b.reason }),
      });
      return ok(view);
    },
  };

  registerApiRoutes(app, CONTROL_PLANE_API, handlers, auth);

  // EDI X12 upload and outbox (routes/edi.ts), behind the same authorization hook.
  registerEdiRoutes(app, deps, auth, events);

  // The API description itself: no token needed (the listener still requires a partner certificate).
  const document = JSON.stringify(controlPlaneOpenApi());
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(document));
}
