/**
 * Control-plane routes for TMS partners over mTLS, each behind the resource server (issue 4): a bound
 * access token with `tenders:write` for POST /v1/tenders and `tenders:read` for GET /v1/tenders/{id}.
 * The partner and its tenant come from the verified token and client certificate; the JSON schema refuses
 * unknown properties (no mass assignment of status, rate or tenant) and fastify's Ajv runs without
 * coercion or removal. A tender is checked against the client's policy (lanes, equipment, time windows)
 * before it is decided.
 */
import { enforceTenderPolicy } from '../auth/policy/enforce-tender.ts';
import type { AuthContext, ResourceServer } from '../auth/resource/authorize.ts';
import type { GatewayEvents } from '../events.ts';
import type { AnyFastify } from '../http/common.ts';
import { createTender, getTender, type TenderDeps, type TenderPartner } from '../tendering/create-tender.ts';
import type { TenderRequest } from '../tendering/decide.ts';

const place = { type: 'string', minLength: 2, maxLength: 128, pattern: "^[\\p{L}\\p{N} .,'-]+$" } as const;
const instant = { type: 'string', format: 'date-time', maxLength: 40 } as const;

export const tenderRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'reference',
    'origin',
    'destination',
    'equipment',
    'weightKg',
    'hazmat',
    'pickupWindow',
    'deliverBy',
  ],
  properties: {
    reference: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]*$' },
    origin: place,
    destination: place,
    equipment: { type: 'string', enum: ['dry_van', 'reefer', 'flatbed', 'tanker'] },
    weightKg: { type: 'integer', minimum: 1, maximum: 100000 },
    hazmat: { type: 'boolean' },
    pickupWindow: {
      type: 'object',
      additionalProperties: false,
      required: ['start', 'end'],
      properties: { start: instant, end: instant },
    },
    deliverBy: instant,
  },
} as const;

/**
 * The authorization the routes need: the resource server (auth/resource/authorize.ts) in the gateway;
 * anything that yields an AuthContext the same way in a benchmark's no-authorization baseline.
 */
export type ControlPlaneAuth = Pick<ResourceServer, 'hook' | 'contextOf'>;

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

  app.post(
    '/v1/tenders',
    { schema: { body: tenderRequestSchema }, onRequest: auth.hook({ scope: 'tenders:write' }) },
    async (request, reply) => {
      const context = auth.contextOf(request);
      const partner = partnerOf(context);
      const body = request.body as TenderRequest;
      await enforceTenderPolicy(
        { audit: deps.audit, lanes: deps.config.lanes },
        context,
        context.policy,
        body,
      );
      const result = await createTender(deps, partner, body);
      events.emit('tender.decided', {
        partnerId: partner.id,
        tenderId: result.id,
        decision: result.decision,
        reasons: result.reasons,
      });
      return reply.code(201).header('location', `/v1/tenders/${result.id}`).send({
        id: result.id,
        reference: result.reference,
        status: result.decision,
        reasonCodes: result.reasons,
        laneId: result.laneId,
        receipt: result.receipt,
      });
    },
  );

  app.get(
    '/v1/tenders/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', pattern: '^tnd_[0-9a-f-]{36}$' } } },
      },
      onRequest: auth.hook({ scope: 'tenders:read' }),
    },
    async (request) => {
      const partner = partnerOf(auth.contextOf(request));
      return getTender(deps.store, partner.id, (request.params as { id: string }).id);
    },
  );
}
