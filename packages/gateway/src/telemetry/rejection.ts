/**
 * The record a telemetry refusal leaves (docs/telemetry.md "What is stored"): a telemetry_rejections row
 * with its reason code and an audit entry — both written by group commit (write-group.ts), in the same
 * transaction as the accepted batches around it. Nothing from the refused payload is kept but its SHA-256
 * (CONVENTIONS.md §5): an envelope is attacker-controlled until verified, and even a verified one that is
 * refused (a replay) adds nothing that is not already stored.
 */
import { toHex } from '@fleetgate/core/bytes';
import type { AuditEvent } from '../audit/event.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { PeerIdentity } from '../pki/peer-identity.ts';

export interface RejectionRow {
  vehicleId: string;
  certSha256: string;
  code: string;
  /** Peer-safe detail (GatewayError.detail): never a key, a payload or an internal cause. */
  detail: string;
  envelopeSha256: Uint8Array | null;
  remoteAddress: string;
}

export interface RejectionRecord {
  kind: 'rejection';
  event: AuditEvent;
  row: RejectionRow;
}

/** A refused envelope: its digest, size, reason and (when it got that far) its counter. */
export function envelopeRejection(
  identity: PeerIdentity,
  envelopeSha256: Uint8Array,
  bytes: number,
  error: GatewayError,
  remoteAddress: string,
  counter?: bigint,
): RejectionRecord {
  return {
    kind: 'rejection',
    event: {
      class: 'telemetry.batch.rejected',
      actor: { kind: 'vehicle', id: identity.id, certSha256: identity.thumbprintSha256 },
      subject: { kind: 'telemetry-envelope', id: toHex(envelopeSha256) },
      outcome: 'rejected',
      reasons: [error.code],
      details: counter === undefined ? { bytes } : { bytes, counter: counter.toString() },
    },
    row: {
      vehicleId: identity.id,
      certSha256: identity.thumbprintSha256,
      code: error.code,
      detail: error.detail ?? '',
      envelopeSha256,
      remoteAddress,
    },
  };
}

/** Refusals by a device's token bucket or connection cap, `attempts` of them coalesced into one record. */
export function rateLimitRejection(
  identity: PeerIdentity,
  limit: 'bytes' | 'records' | 'connections',
  attempts: number,
  remoteAddress: string,
): RejectionRecord {
  return {
    kind: 'rejection',
    event: {
      class: 'telemetry.rate-limited',
      actor: { kind: 'vehicle', id: identity.id, certSha256: identity.thumbprintSha256 },
      subject: { kind: 'vehicle', id: identity.id },
      outcome: 'rejected',
      reasons: ['REQUEST_RATE_LIMITED'],
      details: { limit, attempts },
    },
    row: {
      vehicleId: identity.id,
      certSha256: identity.thumbprintSha256,
      code: 'REQUEST_RATE_LIMITED',
      detail: `${attempts} request(s) over the ${limit} limit`,
      envelopeSha256: null,
      remoteAddress,
    },
  };
}
