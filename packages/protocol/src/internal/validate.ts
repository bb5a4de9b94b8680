/**
 * Semantic checks of decoded (or about-to-be-encoded) telemetry messages.
 *
 * Threat: well-formed protobuf can still carry values that break whatever reads them next — an id
 * with a path separator or control characters, NaN or ±Infinity coordinates that poison ETA and
 * geofence math, a latitude of 4,000, a timestamp in the year 300,000, an empty signature list.
 * proto3 cannot tell "absent" from "zero", so a field that must be present must also be non-zero;
 * that is what PROTOCOL_MISSING_FIELD means. Float fields (speed, heading) are checked after
 * rounding to float32, so the encoder refuses exactly what the decoder would.
 */

import {
  DrivingState,
  DrivingStateSchema,
  SignatureAlgorithm,
  SignatureAlgorithmSchema,
  type SignedEnvelope,
  type TelemetryBatch,
  type TelemetryRecord,
} from '../../gen/fleetgate/telemetry/v1/telemetry_pb.js';
import { ProtocolError, type ProtocolErrorCode } from '../errors.ts';

/** Vehicle and load ids: an ASCII letter or digit, then up to 63 of letters, digits, `.`, `_`, `-`. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Fault codes, e.g. `LIDAR_FRONT.DEGRADED` or `DTC:P0420`. */
export const FAULT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
/** Same alphabet and length as core's signingInput accepts, so every decodable type is signable. */
export const PAYLOAD_TYPE_PATTERN = /^[a-z0-9.+/-]{1,128}$/;
const KEY_ID_PATTERN = /^[0-9a-f]{64}$/;

/** 9999-12-31T23:59:59.999Z: anything later is a broken clock or an attack on date arithmetic. */
export const MAX_UNIX_MS = 253_402_300_799_999n;
export const ED25519_SIGNATURE_BYTES = 64;
/** Largest signature of any reserved algorithm: hybrid Ed25519 (64) + ML-DSA-65 (3,309). */
export const MAX_SIGNATURE_BYTES = 4096;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

const DRIVING_STATES: ReadonlySet<number> = new Set(DrivingStateSchema.values.map((v) => v.number));
const ALGORITHMS: ReadonlySet<number> = new Set(SignatureAlgorithmSchema.values.map((v) => v.number));

function fail(code: ProtocolErrorCode, field: string, rule: string): never {
  throw new ProtocolError(code, `${field}: ${rule}`, { field });
}

function checkTime(value: bigint, field: string): void {
  if (value === 0n) fail('PROTOCOL_MISSING_FIELD', field, 'required');
  if (value < 0n || value > MAX_UNIX_MS) fail('PROTOCOL_INVALID_FIELD', field, 'outside 1970..9999');
}

function checkId(value: string, field: string, required: boolean): void {
  if (value === '') {
    if (required) fail('PROTOCOL_MISSING_FIELD', field, 'required');
    return;
  }
  if (!ID_PATTERN.test(value)) fail('PROTOCOL_INVALID_FIELD', field, `must match ${ID_PATTERN.source}`);
}

function checkRange(value: number, min: number, max: number, field: string, maxExclusive = false): void {
  const ok = Number.isFinite(value) && value >= min && (maxExclusive ? value < max : value <= max);
  if (!ok)
    fail('PROTOCOL_INVALID_FIELD', field, `must be finite, in [${min}, ${max}${maxExclusive ? ')' : ']'}`);
}

export function checkRecord(record: TelemetryRecord, maxFaults: number, path: string): void {
  checkTime(record.timeUnixMs, `${path}.timeUnixMs`);
  checkRange(record.latitude, -90, 90, `${path}.latitude`);
  checkRange(record.longitude, -180, 180, `${path}.longitude`);
  checkRange(Math.fround(record.speedMps), 0, Number.MAX_VALUE, `${path}.speedMps`);
  checkRange(Math.fround(record.headingDeg), 0, 360, `${path}.headingDeg`, true);
  checkRange(record.odometerM, 0, Number.MAX_VALUE, `${path}.odometerM`);
  if (record.drivingState === DrivingState.UNSPECIFIED) {
    fail('PROTOCOL_MISSING_FIELD', `${path}.drivingState`, 'required');
  }
  // Unknown values are refused, not passed on: the fail-safe state machine must never guess.
  if (!DRIVING_STATES.has(record.drivingState)) {
    fail('PROTOCOL_INVALID_FIELD', `${path}.drivingState`, 'unknown driving state');
  }
  if (record.faults.length > maxFaults) {
    fail('PROTOCOL_TOO_MANY_FIELDS', `${path}.faults`, `more than ${maxFaults} fault codes`);
  }
  for (const [i, fault] of record.faults.entries()) {
    if (!FAULT_PATTERN.test(fault)) {
      fail('PROTOCOL_INVALID_FIELD', `${path}.faults[${i}]`, `must match ${FAULT_PATTERN.source}`);
    }
  }
}

export function checkBatch(batch: TelemetryBatch, maxRecords: number, maxFaults: number): void {
  checkId(batch.vehicleId, 'vehicleId', true);
  checkId(batch.loadId, 'loadId', false);
  if (batch.firstSequence === 0n) fail('PROTOCOL_MISSING_FIELD', 'firstSequence', 'required (starts at 1)');
  if (batch.records.length === 0) fail('PROTOCOL_MISSING_FIELD', 'records', 'at least one record');
  if (batch.records.length > maxRecords) {
    throw new ProtocolError('PROTOCOL_TOO_MANY_RECORDS', `records: more than ${maxRecords}`, {
      field: 'records',
    });
  }
  if (batch.firstSequence < 0n || batch.firstSequence + BigInt(batch.records.length - 1) > U64_MAX) {
    fail('PROTOCOL_INVALID_FIELD', 'firstSequence', 'sequence numbers overflow uint64');
  }
  checkTime(batch.sentAtUnixMs, 'sentAtUnixMs');
  for (const [i, record] of batch.records.entries()) checkRecord(record, maxFaults, `records[${i}]`);
}

export function checkEnvelope(envelope: SignedEnvelope, maxSignatures: number): void {
  if (envelope.payload.byteLength === 0) fail('PROTOCOL_MISSING_FIELD', 'payload', 'required');
  if (envelope.payloadType === '') fail('PROTOCOL_MISSING_FIELD', 'payloadType', 'required');
  if (!PAYLOAD_TYPE_PATTERN.test(envelope.payloadType)) {
    fail('PROTOCOL_INVALID_FIELD', 'payloadType', `must match ${PAYLOAD_TYPE_PATTERN.source}`);
  }
  if (envelope.counter === 0n) fail('PROTOCOL_MISSING_FIELD', 'counter', 'required (starts at 1)');
  if (envelope.counter < 0n || envelope.counter > U64_MAX) {
    fail('PROTOCOL_INVALID_FIELD', 'counter', 'outside uint64');
  }
  if (envelope.signatures.length === 0) fail('PROTOCOL_MISSING_FIELD', 'signatures', 'at least one');
  if (envelope.signatures.length > maxSignatures) {
    fail('PROTOCOL_TOO_MANY_FIELDS', 'signatures', `more than ${maxSignatures}`);
  }
  const seen = new Set<string>();
  for (const [i, sig] of envelope.signatures.entries()) {
    const path = `signatures[${i}]`;
    if (sig.algorithm === SignatureAlgorithm.UNSPECIFIED)
      fail('PROTOCOL_MISSING_FIELD', `${path}.algorithm`, 'required');
    if (!ALGORITHMS.has(sig.algorithm))
      fail('PROTOCOL_INVALID_FIELD', `${path}.algorithm`, 'unknown algorithm');
    if (sig.keyId === '') fail('PROTOCOL_MISSING_FIELD', `${path}.keyId`, 'required');
    if (!KEY_ID_PATTERN.test(sig.keyId)) {
      fail('PROTOCOL_INVALID_FIELD', `${path}.keyId`, 'must be lower-case hex SHA-256 (64 characters)');
    }
    const length = sig.signature.byteLength;
    if (length === 0) fail('PROTOCOL_MISSING_FIELD', `${path}.signature`, 'required');
    if (sig.algorithm === SignatureAlgorithm.ED25519 && length !== ED25519_SIGNATURE_BYTES) {
      fail(
        'PROTOCOL_INVALID_FIELD',
        `${path}.signature`,
        `Ed25519 signatures are ${ED25519_SIGNATURE_BYTES} bytes`,
      );
    }
    if (length > MAX_SIGNATURE_BYTES) {
      fail('PROTOCOL_INVALID_FIELD', `${path}.signature`, `longer than ${MAX_SIGNATURE_BYTES} bytes`);
    }
    // The same key and algorithm twice would let one signature count twice towards a threshold.
    const identity = `${sig.algorithm}:${sig.keyId}`;
    if (seen.has(identity)) {
      throw new ProtocolError(
        'PROTOCOL_DUPLICATE_FIELD',
        `${path}: same key and algorithm as an earlier signature`,
        {
          field: path,
        },
      );
    }
    seen.add(identity);
  }
}
