/**
 * The MQTT topic tree of fleetgate telemetry (docs/mqtt.md "Topics"; MQTT 5.0 §4.7 topic names and
 * filters, §4.8.2 shared subscriptions):
 *
 *   fleet/<vehicle-id>/telemetry   a vehicle publishes its signed envelopes here (QoS 1)
 *   fleet/<vehicle-id>/acks        the gateway answers each envelope here (JSON, QoS 1)
 *
 * Threat: a topic is broker-routed text that the publisher chooses. The vehicle id in it is only a
 * claim (the broker's ACL pins it to the publisher's certificate, and the gateway checks the signer
 * against it anyway), and it travels into SQL rows and audit entries, so it is accepted only when it
 * matches the fleetgate id alphabet — no wildcard, no `/`, no `$`, no NUL can pass.
 */
import { FLEETGATE_ID_PATTERN } from '../../pki/identity.ts';

export const TOPIC_ROOT = 'fleet';

/** The filter every gateway node subscribes to. */
export const TELEMETRY_FILTER = `${TOPIC_ROOT}/+/telemetry`;

export function telemetryTopic(vehicleId: string): string {
  return `${TOPIC_ROOT}/${vehicleId}/telemetry`;
}

export function acksTopic(vehicleId: string): string {
  return `${TOPIC_ROOT}/${vehicleId}/acks`;
}

/** `$share/<group>/fleet/+/telemetry` (MQTT 5.0 §4.8.2), or the plain filter when there is no group. */
export function subscriptionFilter(sharedGroup: string | null): string {
  return sharedGroup === null ? TELEMETRY_FILTER : `$share/${sharedGroup}/${TELEMETRY_FILTER}`;
}

/** The vehicle id a telemetry topic names, or undefined when the topic is not exactly one. */
export function vehicleOfTelemetryTopic(topic: string): string | undefined {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== TOPIC_ROOT || parts[2] !== 'telemetry') return undefined;
  const id = parts[1] ?? '';
  return FLEETGATE_ID_PATTERN.test(id) ? id : undefined;
}
