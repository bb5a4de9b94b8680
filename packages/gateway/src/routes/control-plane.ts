/**
 * Control-plane routes for TMS partners over mTLS. The partner and its tenant come from the verified
 * client certificate; the JSON schema refuses unknown properties (no mass assignment of status, rate or
 * tenant) and fastify's Ajv runs without coercion or removal.
 */
import type { GatewayConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayEvents } from '../events.ts';
import type { AnyFastify } from '../http/common.ts';
import { peerIdentity } from '../http/peer.ts';
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

export function registerControlPlaneRoutes(
  app: AnyFastify,
  deps: TenderDeps,
  partners: GatewayConfig['partners'],
  events: GatewayEvents,
): void {
  const partnerOf = (raw: Parameters<typeof peerIdentity>[0]): TenderPartner => {
    const identity = peerIdentity(raw);
    const partner = identity.kind === 'partner' ? partners.find((p) => p.id === identity.id) : undefined;
    if (partner === undefined)
      throw new GatewayError('AUTH_IDENTITY_NOT_ALLOWED', 'a registered partner certificate is required');
    return { id: partner.id, tenant: partner.tenant, certSha256: identity.thumbprintSha256 };
  };

  app.post('/v1/tenders', { schema: { body: tenderRequestSchema } }, async (request, reply) => {
    const partner = partnerOf(request.raw);
    const result = await createTender(deps, partner, request.body as TenderRequest);
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
  });

  app.get(
    '/v1/tenders/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', pattern: '^tnd_[0-9a-f-]{36}$' } } },
      },
    },
    async (request) => {
      const partner = partnerOf(request.raw);
      return getTender(deps.store, partner.id, (request.params as { id: string }).id);
    },
  );
}
