/**
 * Verifies one signed telemetry envelope received on a vehicle's mTLS connection, in the order the
 * threat model needs: size and wire-format limits first (hostile bytes), then the signature over the
 * exact bytes received (never a re-serialisation), by the key of the certificate that authenticated
 * this connection, then the batch's claims (vehicle id, time) — which are only trusted once signed.
 * Replay is checked afterwards, atomically with the write (ingest.ts).
 */
import { sha256 } from '@fleetgate/core/hash';
import { ed25519Verify } from '@fleetgate/core/signature/ed25519';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import { ProtocolError } from '@fleetgate/protocol/errors';
import {
  decodeBatch,
  decodeEnvelope,
  SignatureAlgorithm,
  TELEMETRY_PAYLOAD_TYPE,
  type TelemetryBatch,
} from '@fleetgate/protocol/telemetry';
import type { GatewayConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { PeerIdentity } from '../pki/peer-identity.ts';

export interface VerifiedBatch {
  counter: bigint;
  batch: TelemetryBatch;
  keyId: string;
  envelopeSha256: Uint8Array;
}

export function verifyEnvelope(
  body: Uint8Array,
  identity: PeerIdentity,
  limits: GatewayConfig['telemetry'],
  now: Date,
): VerifiedBatch {
  if (body.byteLength > limits.maxEnvelopeBytes) {
    throw new GatewayError('TELEMETRY_TOO_LARGE', `envelope is larger than ${limits.maxEnvelopeBytes} bytes`);
  }
  const envelope = protocolStep(() => decodeEnvelope(body, { maxBytes: limits.maxEnvelopeBytes }));
  if (envelope.payloadType !== TELEMETRY_PAYLOAD_TYPE) {
    throw new GatewayError('TELEMETRY_MALFORMED', 'unexpected payload type');
  }
  const ed25519 = envelope.signatures.filter((s) => s.algorithm === SignatureAlgorithm.ED25519);
  if (ed25519.length === 0)
    throw new GatewayError('TELEMETRY_UNSUPPORTED_ALGORITHM', 'an Ed25519 signature is required');
  const mine = ed25519.filter((s) => s.keyId === identity.keyId);
  if (mine.length !== 1) {
    throw new GatewayError('TELEMETRY_UNKNOWN_KEY', 'exactly one signature must be by the certificate key');
  }
  const input = signingInput(envelope.payloadType, envelope.counter, envelope.payload);
  if (!ed25519Verify(identity.publicKey, input, (mine[0] as (typeof mine)[number]).signature)) {
    throw new GatewayError('TELEMETRY_SIGNATURE_INVALID');
  }
  const batch = protocolStep(() => decodeBatch(envelope.payload, { maxRecords: limits.maxRecordsPerBatch }));
  if (batch.vehicleId !== identity.id) {
    throw new GatewayError('TELEMETRY_VEHICLE_MISMATCH', 'batch vehicle id differs from the certificate');
  }
  const skewMs = limits.maxClockSkewSeconds * 1000;
  const sentAt = Number(batch.sentAtUnixMs);
  if (!Number.isFinite(sentAt) || Math.abs(sentAt - now.getTime()) > skewMs) {
    throw new GatewayError(
      'TELEMETRY_CLOCK_SKEW',
      `sent_at is more than ${limits.maxClockSkewSeconds} s from server time`,
    );
  }
  for (const record of batch.records) {
    if (Number(record.timeUnixMs) > now.getTime() + skewMs) {
      throw new GatewayError('TELEMETRY_CLOCK_SKEW', 'a record is timed in the future');
    }
  }
  return { counter: envelope.counter, batch, keyId: identity.keyId, envelopeSha256: sha256(body) };
}

function protocolStep<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ProtocolError) {
      const code =
        error.code === 'PROTOCOL_TOO_LARGE' || error.code === 'PROTOCOL_TOO_MANY_RECORDS'
          ? 'TELEMETRY_TOO_LARGE'
          : 'TELEMETRY_MALFORMED';
      throw new GatewayError(code, error.code, { cause: error });
    }
    throw error;
  }
}
