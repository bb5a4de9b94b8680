/** fast-check generators of valid telemetry messages (the domain the codec must round-trip). */
import fc from 'fast-check';
import {
  DrivingState,
  ID_PATTERN,
  MAX_UNIX_MS,
  type Signature,
  SignatureAlgorithm,
  type SignedEnvelope,
  type TelemetryBatch,
  type TelemetryRecord,
} from '../src/telemetry.ts';

/** Plain field objects (no $typeName), which spread and patch cleanly in tests. */
type Plain<T> = Omit<T, '$typeName' | '$unknown'>;
export type RecordInit = Plain<TelemetryRecord>;
export type BatchInit = Omit<Plain<TelemetryBatch>, 'records'> & { records: RecordInit[] };
export type EnvelopeInit = Omit<Plain<SignedEnvelope>, 'signatures'> & { signatures: Plain<Signature>[] };

/** proto3 cannot carry −0 (it is the default, so it is not sent): generate +0 instead. */
const noNegZero = (x: number): number => (x === 0 ? 0 : x);

export const unixMs = fc.bigInt({ min: 1n, max: MAX_UNIX_MS });

export const recordArb: fc.Arbitrary<RecordInit> = fc.record({
  timeUnixMs: unixMs,
  latitude: fc.double({ min: -90, max: 90, noNaN: true }).map(noNegZero),
  longitude: fc.double({ min: -180, max: 180, noNaN: true }).map(noNegZero),
  speedMps: fc.float({ min: 0, max: 1e6, noNaN: true }).map(noNegZero),
  headingDeg: fc.float({ min: 0, max: Math.fround(359.99), noNaN: true }).map(noNegZero),
  odometerM: fc.double({ min: 0, max: 1e12, noNaN: true }).map(noNegZero),
  drivingState: fc.constantFrom(
    DrivingState.MANUAL,
    DrivingState.AUTONOMOUS,
    DrivingState.MINIMAL_RISK_MANEUVER,
    DrivingState.MINIMAL_RISK_CONDITION,
  ),
  faults: fc.array(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/), { maxLength: 4 }),
});

export const batchArb: fc.Arbitrary<BatchInit> = fc.record({
  vehicleId: fc.stringMatching(ID_PATTERN),
  loadId: fc.oneof(fc.constant(''), fc.stringMatching(ID_PATTERN)),
  firstSequence: fc.bigInt({ min: 1n, max: 2n ** 63n }),
  records: fc.array(recordArb, { minLength: 1, maxLength: 12 }),
  sentAtUnixMs: unixMs,
});

const signatureArb = fc.oneof(
  fc.record({
    algorithm: fc.constant(SignatureAlgorithm.ED25519),
    keyId: fc.stringMatching(/^[0-9a-f]{64}$/),
    signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
  fc.record({
    algorithm: fc.constantFrom(
      SignatureAlgorithm.ECDSA_P256_SHA256,
      SignatureAlgorithm.HMAC_SHA256,
      SignatureAlgorithm.ED25519_MLDSA65,
    ),
    keyId: fc.stringMatching(/^[0-9a-f]{64}$/),
    signature: fc.uint8Array({ minLength: 1, maxLength: 200 }),
  }),
);

export const envelopeArb: fc.Arbitrary<EnvelopeInit> = fc.record({
  payload: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  payloadType: fc.stringMatching(/^[a-z0-9.+/-]{1,128}$/),
  counter: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
  signatures: fc.uniqueArray(signatureArb, {
    minLength: 1,
    maxLength: 4,
    selector: (s) => `${s.algorithm}:${s.keyId}`,
  }),
});

/** A small valid batch, for tests that mutate one field. */
export function sampleBatch(): BatchInit {
  return {
    vehicleId: 'TRK-0042',
    loadId: 'LD.2024-001',
    firstSequence: 1n,
    sentAtUnixMs: 1_750_000_000_000n,
    records: [sampleRecord()],
  };
}

export function sampleRecord(): RecordInit {
  return {
    timeUnixMs: 1_750_000_000_000n,
    latitude: 32.7767,
    longitude: -96.797,
    speedMps: 26.5,
    headingDeg: 135,
    odometerM: 1_234_567.5,
    drivingState: DrivingState.AUTONOMOUS,
    faults: ['LIDAR_FRONT.DEGRADED'],
  };
}

export function sampleEnvelope(): EnvelopeInit {
  return {
    payload: new Uint8Array([1, 2, 3]),
    payloadType: 'application/vnd.fleetgate.telemetry-batch.v1+protobuf',
    counter: 7n,
    signatures: [
      { algorithm: SignatureAlgorithm.ED25519, keyId: 'ab'.repeat(32), signature: new Uint8Array(64) },
    ],
  };
}
