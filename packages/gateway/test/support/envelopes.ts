/** Builds real signed telemetry envelopes for tests (core signatures + protocol codec, no mocks). */
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

export interface Signer {
  privateKey: KeyObject;
  keyId: string;
}

export function signerFromPem(keyPem: string): Signer {
  const privateKey = createPrivateKey(keyPem);
  return { privateKey, keyId: keyIdOf(createPublicKey(privateKey)) };
}

export function batchBytes(
  vehicleId: string,
  opts: { records?: number; sentAt?: number; firstSequence?: bigint } = {},
): Uint8Array {
  const sentAt = opts.sentAt ?? Date.now();
  return encodeBatch({
    vehicleId,
    loadId: 'LOAD-1',
    firstSequence: opts.firstSequence ?? 1n,
    sentAtUnixMs: BigInt(sentAt),
    records: Array.from({ length: opts.records ?? 2 }, (_, i) => ({
      timeUnixMs: BigInt(sentAt - 1000 * i),
      latitude: 32.7767 - i * 0.001,
      longitude: -96.797 + i * 0.001,
      speedMps: 26,
      headingDeg: 160,
      odometerM: 1000 + i,
      drivingState: DrivingState.AUTONOMOUS,
      faults: [],
    })),
  });
}

export function envelopeBytes(
  signer: Signer,
  counter: bigint,
  payload: Uint8Array,
  alter?: { keyId?: string; signature?: (s: Uint8Array) => Uint8Array; sendPayload?: Uint8Array },
): Uint8Array {
  let signature = ed25519Sign(signer.privateKey, signingInput(TELEMETRY_PAYLOAD_TYPE, counter, payload));
  if (alter?.signature) signature = alter.signature(signature);
  return encodeEnvelope({
    // sendPayload: what a tampering middlebox forwards instead of the signed payload.
    payload: alter?.sendPayload ?? payload,
    payloadType: TELEMETRY_PAYLOAD_TYPE,
    counter,
    signatures: [{ algorithm: SignatureAlgorithm.ED25519, keyId: alter?.keyId ?? signer.keyId, signature }],
  });
}
