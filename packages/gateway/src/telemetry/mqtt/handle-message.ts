/**
 * One MQTT telemetry message, from topic and bytes to the acknowledgement for the vehicle: the MQTT
 * counterpart of `POST /v1/telemetry` (routes/telemetry.ts), running the same ingestEnvelope.
 *
 *   1. the topic must name one vehicle (topics.ts), else the message is refused and recorded, unanswered;
 *   2. the signature key ids are read from the envelope (hostile bytes: the protocol codec's limits,
 *      any failure simply yields none);
 *   3. the signer is resolved from the certificate inventory (resolve-signer.ts) — refusals made there
 *      are recorded here (record-refusal.ts);
 *   4. ingestEnvelope verifies the signature over the bytes received, checks the replay window and
 *      stores the batch in one transaction, or records its refusal;
 *   5. the answer (ack.ts) carries the status the telemetry listener would have used.
 * A store failure is not a refusal of the envelope: nothing is recorded, the vehicle is told 503 with a
 * Retry-After and re-sends the same bytes (its counter makes that safe). Nothing here throws.
 */
import { sha256 } from '@fleetgate/core/hash';
import { decodeEnvelope } from '@fleetgate/protocol/telemetry';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/log.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { GatewayEvents } from '../../events.ts';
import type { Store } from '../../store/store.ts';
import { type IngestDeps, ingestEnvelope } from '../ingest.ts';
import { type AckDocument, acceptedAck, refusedAck } from './ack.ts';
import { mqttSource, recordMqttRefusal } from './record-refusal.ts';
import { resolveSigner, type SignerResolution } from './resolve-signer.ts';
import { vehicleOfTelemetryTopic } from './topics.ts';

export interface MqttMessageDeps {
  /** What ingestEnvelope needs: the same object the telemetry listener uses. */
  ingest: IngestDeps;
  store: Store;
  audit: AuditLog;
  events: GatewayEvents;
  logger: Logger;
  now: () => Date;
  /** telemetry.maxEnvelopeBytes: larger payloads are not decoded here (ingest refuses them). */
  maxEnvelopeBytes: number;
}

export interface HandledMessage {
  /** The vehicle the topic names, null when it names none. */
  vehicleId: string | null;
  /** Undefined when there is no vehicle to answer. */
  ack: AckDocument | undefined;
}

/** Retry-After for a vehicle whose envelope met a store failure. */
const UNAVAILABLE_RETRY_SECONDS = 1;

function signatureKeyIds(payload: Uint8Array, maxBytes: number): string[] {
  if (payload.byteLength > maxBytes) return [];
  try {
    return decodeEnvelope(payload, { maxBytes }).signatures.map((s) => s.keyId);
  } catch {
    return []; // ingest decodes again and refuses with the precise code
  }
}

async function resolve(
  deps: MqttMessageDeps,
  vehicleId: string,
  payload: Uint8Array,
): Promise<SignerResolution> {
  try {
    return await resolveSigner(
      deps.store,
      vehicleId,
      signatureKeyIds(payload, deps.maxEnvelopeBytes),
      deps.now(),
    );
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { kind: 'refused', error, certSha256: null };
  }
}

export async function handleTelemetryMessage(
  deps: MqttMessageDeps,
  topic: string,
  payload: Uint8Array,
): Promise<HandledMessage> {
  const digest = sha256(payload);
  const vehicleId = vehicleOfTelemetryTopic(topic) ?? null;
  const refuse = async (error: GatewayError, certSha256: string | null, signerVehicleId?: string) => {
    await recordMqttRefusal(deps, {
      vehicleId,
      certSha256,
      topic,
      error,
      envelopeSha256: digest,
      bytes: payload.byteLength,
      ...(signerVehicleId === undefined ? {} : { signerVehicleId }),
    });
    return error;
  };
  try {
    if (vehicleId === null) {
      const error = await refuse(new GatewayError('TELEMETRY_MALFORMED', 'topic names no vehicle'), null);
      deps.events.emit('telemetry.rejected', { vehicleId: null, code: error.code });
      return { vehicleId, ack: undefined };
    }
    const resolution = await resolve(deps, vehicleId, payload);
    if (resolution.kind === 'refused') {
      const { error, certSha256, signerVehicleId } = resolution;
      await refuse(error, certSha256, signerVehicleId);
      deps.events.emit('telemetry.rejected', { vehicleId, code: error.code });
      deps.logger.info({ vehicleId, code: error.code, transport: 'mqtt' }, 'telemetry refused');
      return { vehicleId, ack: refusedAck(digest, error, topic) };
    }
    try {
      const accepted = await ingestEnvelope(deps.ingest, resolution.identity, payload, mqttSource(topic));
      deps.events.emit('telemetry.accepted', accepted);
      return { vehicleId, ack: acceptedAck(digest, accepted) };
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      // Already recorded by ingest.
      deps.events.emit('telemetry.rejected', { vehicleId, code: error.code });
      if (error.status >= 500) deps.logger.error({ err: error, vehicleId }, 'mqtt telemetry ingest failed');
      else deps.logger.info({ vehicleId, code: error.code, transport: 'mqtt' }, 'telemetry refused');
      return { vehicleId, ack: refusedAck(digest, error, topic) };
    }
  } catch (error) {
    deps.logger.error({ err: error, vehicleId }, 'mqtt telemetry message failed');
    const unavailable = new GatewayError('SERVICE_UNAVAILABLE', 'try again later', {
      cause: error,
      retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS,
    });
    return { vehicleId, ack: vehicleId === null ? undefined : refusedAck(digest, unavailable, topic) };
  }
}
