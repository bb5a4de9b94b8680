/**
 * Records an MQTT envelope refused before ingest (resolve-signer.ts: another vehicle's key, a revoked or
 * expired signer, no certificate; a topic that names no vehicle) exactly as ingest records its own
 * refusals (telemetry/ingest.ts): one `telemetry_rejections` row with the reason code, the envelope's
 * SHA-256 and where it came from, and one `telemetry.batch.rejected` audit entry, in one transaction —
 * so a refusal exists exactly when its audit entry does, and detection and the scorecard see MQTT
 * refusals alongside HTTPS ones (details.transport tells them apart).
 *
 * Never recorded: the payload itself (a digest names it) or anything of the problem beyond its code and
 * peer-safe detail.
 */
import { toHex } from '@fleetgate/core/bytes';
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import type { GatewayError } from '../../errors/gateway-error.ts';
import type { Store } from '../../store/store.ts';

export interface MqttRefusal {
  /** The vehicle the topic names; null when the topic names none. */
  vehicleId: string | null;
  certSha256: string | null;
  topic: string;
  error: GatewayError;
  envelopeSha256: Uint8Array;
  bytes: number;
  /** TELEMETRY_TOPIC_MISMATCH: the vehicle whose key signed. */
  signerVehicleId?: string;
}

/** Where an MQTT envelope came from, as `telemetry_rejections.remote_address` records it. */
export function mqttSource(topic: string): string {
  return `mqtt:${topic}`;
}

export async function recordMqttRefusal(
  deps: { store: Store; audit: AuditLog },
  refusal: MqttRefusal,
): Promise<number> {
  const actor: AuditActor =
    refusal.vehicleId === null
      ? { kind: 'system', id: 'mqtt' }
      : {
          kind: 'vehicle',
          id: refusal.vehicleId,
          ...(refusal.certSha256 === null ? {} : { certSha256: refusal.certSha256 }),
        };
  return deps.store.transaction(async (tx) => {
    const receipt = await deps.audit.appendInTx(tx, {
      class: 'telemetry.batch.rejected',
      actor,
      subject: { kind: 'telemetry-envelope', id: toHex(refusal.envelopeSha256) },
      outcome: 'rejected',
      reasons: [refusal.error.code],
      details: {
        bytes: refusal.bytes,
        transport: 'mqtt',
        ...(refusal.signerVehicleId === undefined ? {} : { signerVehicleId: refusal.signerVehicleId }),
      },
    });
    await tx.query(
      `INSERT INTO telemetry_rejections (vehicle_id, cert_sha256, code, detail, envelope_sha256, remote_address, audit_index)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        refusal.vehicleId,
        refusal.certSha256,
        refusal.error.code,
        refusal.error.detail ?? '',
        refusal.envelopeSha256,
        mqttSource(refusal.topic),
        String(receipt.index),
      ],
    );
    return receipt.index;
  });
}
