/**
 * Telemetry listener routes: vehicles POST signed envelopes (application/x-protobuf) over mTLS, HTTP/2 or
 * HTTP/1.1. The per-device connection cap counts this listener's TLS connections; a request on a
 * connection beyond it is answered 429 REQUEST_RATE_LIMITED with Retry-After and its connection closed
 * after the answer (telemetry/connection-cap.ts). Everything else is telemetry/ingest.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayEvents } from '../events.ts';
import { type AnyFastify, sendProblem, toGatewayError } from '../http/common.ts';
import { connectionOf, peerIdentity } from '../http/peer.ts';
import { type IngestDeps, ingestEnvelope, ingestPipeline } from '../telemetry/ingest.ts';

/** Seconds a device is told to wait before it opens another connection. */
const CONNECTION_RETRY_AFTER_SECONDS = 5;

export function registerTelemetryRoutes(app: AnyFastify, deps: IngestDeps, events: GatewayEvents): void {
  const ingest = ingestPipeline(deps);
  ingest.connections.attach(app.server);
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
    if (ingest.connections.isExcess(request.raw)) {
      closeAfterAnswer(request.raw, reply);
      const refused = await ingest.refusals.refuse(
        identity,
        'connections',
        CONNECTION_RETRY_AFTER_SECONDS,
        request.ip,
      );
      events.emit('telemetry.rejected', { vehicleId: identity.id, code: refused.code });
      return sendProblem(reply, request, refused);
    }
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

function closeAfterAnswer(
  raw: IncomingMessage | Http2ServerRequest,
  reply: {
    header(key: string, value: string): unknown;
    raw: { once(event: 'finish', fn: () => void): unknown };
  },
): void {
  if ('stream' in raw && raw.stream !== undefined) {
    const session = raw.stream.session;
    reply.raw.once('finish', () => session?.close());
    return;
  }
  reply.header('connection', 'close');
  const { socket } = connectionOf(raw);
  reply.raw.once('finish', () => socket.end());
}
