/**
 * The gateway's answer to one envelope received over MQTT, published on `fleet/<vehicle-id>/acks`
 * (docs/mqtt.md "Acknowledgements"). It mirrors the HTTPS answer so the edge SDK treats both transports
 * alike: `status` is the HTTP status the same refusal gets on the telemetry listener (202 accepted;
 * 4xx refused, never worth re-sending; 429 and 5xx worth re-sending later), and a refusal carries the
 * same RFC 9457 problem document (code, title, peer-safe detail — nothing internal).
 *
 * Correlation is by the SHA-256 of the envelope bytes the gateway received, not by anything the
 * publisher chose (MQTT 5 correlation data or response topic): a malformed envelope has no counter to
 * echo, and a response topic named by a publisher would let it direct answers at another vehicle.
 */
import { toHex } from '@fleetgate/core/bytes';
import type { GatewayError, ProblemDocument } from '../../errors/gateway-error.ts';

export const ACK_VERSION = 1;

export interface AckDocument {
  v: typeof ACK_VERSION;
  /** Lower-case hex SHA-256 of the envelope bytes as received. */
  envelopeSha256: string;
  outcome: 'accepted' | 'refused';
  /** The telemetry listener's status for the same outcome. */
  status: number;
  /** Accepted: the envelope counter (decimal string, a uint64), records stored, audit receipt. */
  counter?: string;
  records?: number;
  auditIndex?: number;
  /** Refused: the problem document the telemetry listener would have answered. */
  problem?: ProblemDocument;
  /** 429 / 503: wait at least this long before re-sending. */
  retryAfterSeconds?: number;
}

export function acceptedAck(
  envelopeSha256: Uint8Array,
  accepted: { counter: string; records: number; auditIndex: number },
): AckDocument {
  return {
    v: ACK_VERSION,
    envelopeSha256: toHex(envelopeSha256),
    outcome: 'accepted',
    status: 202,
    counter: accepted.counter,
    records: accepted.records,
    auditIndex: accepted.auditIndex,
  };
}

export function refusedAck(envelopeSha256: Uint8Array, error: GatewayError, topic: string): AckDocument {
  const ack: AckDocument = {
    v: ACK_VERSION,
    envelopeSha256: toHex(envelopeSha256),
    outcome: 'refused',
    status: error.status,
    problem: error.toProblem(topic),
  };
  if (error.retryAfterSeconds !== undefined) ack.retryAfterSeconds = error.retryAfterSeconds;
  return ack;
}

export function encodeAck(ack: AckDocument): Buffer {
  return Buffer.from(JSON.stringify(ack), 'utf8');
}
