/**
 * Request bodies the load client sends: real signed telemetry envelopes (core Ed25519 over the
 * domain-separated signing input, protocol codec; no canned bytes) with a per-vehicle counter that only
 * goes up, and tender requests with unique references on a served lane. The same functions give the
 * benchmark its limit inputs (the signing input a verify limit runs over), so limit and figure work on
 * the same bytes.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ed25519Sign, keyIdOf } from '@fleetgate/core/signature/ed25519';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import {
  DrivingState,
  encodeBatch,
  encodeEnvelope,
  SignatureAlgorithm,
  TELEMETRY_PAYLOAD_TYPE,
} from '@fleetgate/protocol/telemetry';

export const RECORDS_PER_BATCH = 10;

export interface SignedBatch {
  envelope: Uint8Array;
  /** What the signature covers; the gateway verifies exactly this. */
  signingInput: Uint8Array;
  signature: Uint8Array;
  publicKey: KeyObject;
}

/** Builds one signed envelope of `records` records for `vehicleId` at `counter`. */
export function signBatch(
  privateKey: KeyObject,
  vehicleId: string,
  counter: bigint,
  records = RECORDS_PER_BATCH,
  sentAt = Date.now(),
): SignedBatch {
  const publicKey = createPublicKey(privateKey);
  const payload = encodeBatch({
    vehicleId,
    loadId: 'LOAD-BENCH',
    firstSequence: counter * BigInt(records),
    sentAtUnixMs: BigInt(sentAt),
    records: Array.from({ length: records }, (_, i) => ({
      timeUnixMs: BigInt(sentAt - 1000 * (records - 1 - i)),
      latitude: 32.7767 - i * 0.001,
      longitude: -96.797 + i * 0.001,
      speedMps: 26,
      headingDeg: 160,
      odometerM: 100_000 + i * 26,
      drivingState: DrivingState.AUTONOMOUS,
      faults: [],
    })),
  });
  const input = signingInput(TELEMETRY_PAYLOAD_TYPE, counter, payload);
  const signature = ed25519Sign(privateKey, input);
  const envelope = encodeEnvelope({
    payload,
    payloadType: TELEMETRY_PAYLOAD_TYPE,
    counter,
    signatures: [{ algorithm: SignatureAlgorithm.ED25519, keyId: keyIdOf(publicKey), signature }],
  });
  return { envelope, signingInput: input, signature, publicKey };
}

/** A vehicle's stream of envelopes: parses its key once, numbers batches 1, 2, 3, … */
export function telemetryBodies(
  vehicleId: string,
  keyPem: string,
  records = RECORDS_PER_BATCH,
): () => Uint8Array {
  const privateKey = createPrivateKey(keyPem);
  let counter = 0n;
  return () => {
    counter += 1n;
    return signBatch(privateKey, vehicleId, counter, records).envelope;
  };
}

/** A partner's stream of tender requests on the Dallas–Houston lane, references `${prefix}-1`, `-2`, … */
export function tenderBodies(prefix: string): () => string {
  let n = 0;
  return () => {
    n += 1;
    const start = Date.now() + 6 * 3_600_000;
    return JSON.stringify({
      reference: `${prefix}-${n}`,
      origin: 'Dallas, TX',
      destination: 'Houston, TX',
      equipment: 'dry_van',
      weightKg: 12_000,
      hazmat: false,
      pickupWindow: {
        start: new Date(start).toISOString(),
        end: new Date(start + 4 * 3_600_000).toISOString(),
      },
      deliverBy: new Date(start + 20 * 3_600_000).toISOString(),
    });
  };
}
