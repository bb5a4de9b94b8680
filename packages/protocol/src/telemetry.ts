/**
 * The telemetry codec: signed envelopes and the telemetry batches they carry, over the schema in
 * proto/fleetgate/telemetry/v1/telemetry.proto (generated code in gen/).
 *
 * Threat: until its signature verifies, every byte here is attacker-controlled — a vehicle with a
 * stolen certificate, a compromised broker, anyone who reaches the telemetry listener. Decoding
 * (CONVENTIONS.md §6) therefore
 *   1. refuses input over the byte limit                                    PROTOCOL_TOO_LARGE
 *   2. pre-scans the wire format before protobuf-es sees it (internal/wire-scan.ts: bad varints,
 *      lengths past the end, field 0 or > 2^29−1, wire types 6/7, unterminated groups, depth,
 *      per-field and unknown-field counts)                                  PROTOCOL_MALFORMED,
 *      PROTOCOL_TOO_DEEP, PROTOCOL_TOO_MANY_RECORDS, PROTOCOL_TOO_MANY_FIELDS, PROTOCOL_DUPLICATE_FIELD
 *   3. decodes with protobuf-es (strict UTF-8, unknown fields dropped)     PROTOCOL_MALFORMED
 *   4. checks semantics (internal/validate.ts)                              PROTOCOL_MISSING_FIELD,
 *      PROTOCOL_INVALID_FIELD
 * and never throws anything but a ProtocolError. Signatures are verified by the caller over the
 * envelope's `payload` exactly as received — never over a re-encoding, which need not be
 * byte-identical (non-canonical varints, field order).
 *
 * Encoding runs the same semantic checks and limits, so the SDK cannot produce a batch the
 * gateway refuses.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import {
  type SignedEnvelope,
  SignedEnvelopeSchema,
  type TelemetryBatch,
  TelemetryBatchSchema,
  TelemetryRecordSchema,
} from '../gen/fleetgate/telemetry/v1/telemetry_pb.js';
import { ProtocolError } from './errors.ts';
import { checkBatch, checkEnvelope, checkRecord } from './internal/validate.ts';
import { type CountLimit, planFor, type ScanLimits, scanMessage } from './internal/wire-scan.ts';

export {
  DrivingState,
  DrivingStateSchema,
  file_fleetgate_telemetry_v1_telemetry,
  type Signature,
  SignatureAlgorithm,
  SignatureAlgorithmSchema,
  SignatureSchema,
  type SignedEnvelope,
  SignedEnvelopeSchema,
  type TelemetryBatch,
  TelemetryBatchSchema,
  type TelemetryRecord,
  TelemetryRecordSchema,
} from '../gen/fleetgate/telemetry/v1/telemetry_pb.js';
export { ID_PATTERN, MAX_SIGNATURE_BYTES, MAX_UNIX_MS } from './internal/validate.ts';

/** `payload_type` of an envelope whose payload is an encoded TelemetryBatch. */
export const TELEMETRY_PAYLOAD_TYPE = 'application/vnd.fleetgate.telemetry-batch.v1+protobuf';

/** Nesting limit; also protobuf-es's recursionLimit, so a larger value could not be honoured. */
export const MAX_DEPTH = 100;

export interface EnvelopeLimits {
  /** Largest encoded envelope, bytes. Default 1 MiB. */
  maxBytes: number;
  /** Deepest nesting of messages and groups (top level is 1). Default and maximum 100. */
  maxDepth: number;
  /** Most signatures in one envelope (a hybrid suite needs one). Default 4. */
  maxSignatures: number;
  /** Most unknown fields in any one message (forward compatibility vs floods). Default 64. */
  maxUnknownFields: number;
}

export interface BatchLimits {
  /** Largest encoded batch, bytes. Default 1 MiB (it travels inside a 1 MiB envelope). */
  maxBytes: number;
  /** Deepest nesting of messages and groups (top level is 1). Default and maximum 100. */
  maxDepth: number;
  /** Most records in one batch. Default 5,000. */
  maxRecords: number;
  /** Most fault codes in one record. Default 32. */
  maxFaultsPerRecord: number;
  /** Most unknown fields in any one message (forward compatibility vs floods). Default 64. */
  maxUnknownFields: number;
}

export const DEFAULT_ENVELOPE_LIMITS: Readonly<EnvelopeLimits> = Object.freeze({
  maxBytes: 1_048_576,
  maxDepth: MAX_DEPTH,
  maxSignatures: 4,
  maxUnknownFields: 64,
});

export const DEFAULT_BATCH_LIMITS: Readonly<BatchLimits> = Object.freeze({
  maxBytes: 1_048_576,
  maxDepth: MAX_DEPTH,
  maxRecords: 5_000,
  maxFaultsPerRecord: 32,
  maxUnknownFields: 64,
});

/**
 * Decodes a SignedEnvelope and checks its structure. `payload` is a view into `bytes` (no copy):
 * do not reuse the input buffer while the envelope is in use. Does not verify signatures.
 */
export function decodeEnvelope(bytes: Uint8Array, limits?: Partial<EnvelopeLimits>): SignedEnvelope {
  const l = resolveLimits(DEFAULT_ENVELOPE_LIMITS, limits);
  const envelope = decode(SignedEnvelopeSchema, bytes, l.maxBytes, {
    maxDepth: l.maxDepth,
    maxUnknownFields: l.maxUnknownFields,
    counts: new Map([[SignedEnvelopeSchema.field.signatures, tooManyFields(l.maxSignatures)]]),
  });
  checkEnvelope(envelope, l.maxSignatures);
  return envelope;
}

/** Decodes a TelemetryBatch (an envelope's payload, after its signature verified) and checks it. */
export function decodeBatch(bytes: Uint8Array, limits?: Partial<BatchLimits>): TelemetryBatch {
  const l = resolveLimits(DEFAULT_BATCH_LIMITS, limits);
  const batch = decode(TelemetryBatchSchema, bytes, l.maxBytes, {
    maxDepth: l.maxDepth,
    maxUnknownFields: l.maxUnknownFields,
    counts: new Map([
      [TelemetryBatchSchema.field.records, { max: l.maxRecords, code: 'PROTOCOL_TOO_MANY_RECORDS' }],
      [TelemetryRecordSchema.field.faults, tooManyFields(l.maxFaultsPerRecord)],
    ]),
  });
  checkBatch(batch, l.maxRecords, l.maxFaultsPerRecord);
  return batch;
}

/** Checks and encodes an envelope; throws ProtocolError with the decoder's codes. */
export function encodeEnvelope(
  envelope: MessageInitShape<typeof SignedEnvelopeSchema>,
  limits?: Partial<EnvelopeLimits>,
): Uint8Array {
  const l = resolveLimits(DEFAULT_ENVELOPE_LIMITS, limits);
  const message = guarded(() => create(SignedEnvelopeSchema, envelope));
  checkEnvelope(message, l.maxSignatures);
  return sized(
    guarded(() => toBinary(SignedEnvelopeSchema, message)),
    l.maxBytes,
  );
}

/** Checks and encodes a batch; throws ProtocolError with the decoder's codes. */
export function encodeBatch(
  batch: MessageInitShape<typeof TelemetryBatchSchema>,
  limits?: Partial<BatchLimits>,
): Uint8Array {
  const l = resolveLimits(DEFAULT_BATCH_LIMITS, limits);
  const message = guarded(() => create(TelemetryBatchSchema, batch));
  checkBatch(message, l.maxRecords, l.maxFaultsPerRecord);
  return sized(
    guarded(() => toBinary(TelemetryBatchSchema, message)),
    l.maxBytes,
  );
}

/**
 * Checks one record as decodeBatch would (throws ProtocolError), so a sender can refuse a bad
 * sample when it is recorded instead of losing the whole batch it would have poisoned.
 */
export function validateRecord(
  record: MessageInitShape<typeof TelemetryRecordSchema>,
  maxFaultsPerRecord: number = DEFAULT_BATCH_LIMITS.maxFaultsPerRecord,
): void {
  checkRecord(
    guarded(() => create(TelemetryRecordSchema, record)),
    maxFaultsPerRecord,
    'record',
  );
}

function decode<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  maxBytes: number,
  scan: ScanLimits,
): MessageShape<Desc> {
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError('PROTOCOL_INVALID_ARGUMENT', 'input must be a Uint8Array');
  }
  if (bytes.byteLength > maxBytes) {
    throw new ProtocolError('PROTOCOL_TOO_LARGE', `input is larger than ${maxBytes} bytes`);
  }
  try {
    scanMessage(bytes, planFor(schema), scan);
    return fromBinary(schema, bytes, { readUnknownFields: false, recursionLimit: MAX_DEPTH });
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause;
    // The pre-scan leaves protobuf-es only invalid UTF-8 to fail on; anything else is mapped too,
    // so that hostile bytes can never surface as an uncaught non-protocol exception.
    throw new ProtocolError('PROTOCOL_MALFORMED', `not a valid ${schema.typeName}`, { cause });
  }
}

function tooManyFields(max: number): CountLimit {
  return { max, code: 'PROTOCOL_TOO_MANY_FIELDS' };
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause;
    throw new ProtocolError('PROTOCOL_INVALID_ARGUMENT', 'value does not fit the schema', { cause });
  }
}

function sized(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.byteLength > maxBytes) {
    throw new ProtocolError('PROTOCOL_TOO_LARGE', `encoding is larger than ${maxBytes} bytes`);
  }
  return bytes;
}

function resolveLimits<L extends EnvelopeLimits | BatchLimits>(
  defaults: Readonly<L>,
  given: Partial<L> | undefined,
): L {
  const limits = { ...defaults };
  for (const [key, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(defaults, key))
      throw new ProtocolError('PROTOCOL_INVALID_ARGUMENT', `unknown limit ${key}`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new ProtocolError('PROTOCOL_INVALID_ARGUMENT', `limit ${key} must be a positive integer`);
    }
    (limits as Record<string, number>)[key] = value as number;
  }
  if (limits.maxDepth > MAX_DEPTH) {
    throw new ProtocolError('PROTOCOL_INVALID_ARGUMENT', `maxDepth cannot exceed ${MAX_DEPTH}`);
  }
  return limits;
}
