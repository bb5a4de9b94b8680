/** Telemetry listener routes: vehicles POST signed envelopes (application/x-protobuf) over mTLS. */
import { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayEvents } from '../events.ts';
import { type AnyFastify, sendProblem, toGatewayError } from '../http/common.ts';
import { peerIdentity } from '../http/peer.ts';
import { type IngestDeps, ingestEnvelope } from '../telemetry/ingest.ts';

export function registerTelemetryRoutes(app: AnyFastify, deps: IngestDeps, events: GatewayEvents): void {
  app.addContentTypeParser(
    'application/x-protobuf',
    // One byte over the envelope limit reaches the handler, so the refusal is coded and recorded there.
    { parseAs: 'buffer', bodyLimit: deps.limits.maxEnvelopeBytes + 1 },
    (_req, body, done) => done(null, body),
  );

  app.post('/v1/telemetry', async (request, reply) => {
    const identity = peerIdentity(request.raw);
    if (identity.kind !== 'vehicle')
      throw new GatewayError('AUTH_IDENTITY_NOT_ALLOWED', 'a vehicle certificate is required');
    if (!Buffer.isBuffer(request.body)) throw new GatewayError('REQUEST_UNSUPPORTED_MEDIA_TYPE');
    try {
      const accepted = await ingestEnvelope(deps, identity, new Uint8Array(request.body), request.ip);
      events.emit('telemetry.accepted', accepted);
      return reply.code(202).send({ status: 'accepted', ...accepted });
    } catch (error) {
      const ge = toGatewayError(error);
      events.emit('telemetry.rejected', { vehicleId: identity.id, code: ge.code });
      if (ge.status >= 500) request.log.error({ err: error }, 'telemetry ingest failed');
      else request.log.info({ vehicleId: identity.id, code: ge.code }, 'telemetry refused');
      return sendProblem(reply, request, ge);
    }
  });
}
