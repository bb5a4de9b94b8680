/** Round trips, semantic checks and limits of the telemetry codec. */
import { create, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from '../src/errors.ts';
import {
  DEFAULT_BATCH_LIMITS,
  DEFAULT_ENVELOPE_LIMITS,
  DrivingState,
  decodeBatch,
  decodeEnvelope,
  encodeBatch,
  encodeEnvelope,
  MAX_UNIX_MS,
  SignatureAlgorithm,
  SignedEnvelopeSchema,
  TELEMETRY_PAYLOAD_TYPE,
  TelemetryBatchSchema,
  validateRecord,
} from '../src/telemetry.ts';
import {
  type BatchInit,
  batchArb,
  type EnvelopeInit,
  envelopeArb,
  sampleBatch,
  sampleEnvelope,
  sampleRecord,
} from './arbitraries.ts';

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError, got a value');
}

describe('round trip', () => {
  it('decodeBatch(encodeBatch(b)) equals b for random valid batches', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        expect(decodeBatch(encodeBatch(batch))).toEqual(create(TelemetryBatchSchema, batch));
      }),
      { numRuns: 300 },
    );
  });

  it('decodeEnvelope(encodeEnvelope(e)) equals e for random valid envelopes', () => {
    fc.assert(
      fc.property(envelopeArb, (envelope) => {
        expect(decodeEnvelope(encodeEnvelope(envelope))).toEqual(create(SignedEnvelopeSchema, envelope));
      }),
      { numRuns: 300 },
    );
  });

  it('carries a batch inside an envelope unchanged', () => {
    const payload = encodeBatch(sampleBatch());
    const envelope = decodeEnvelope(
      encodeEnvelope({ ...sampleEnvelope(), payload, payloadType: TELEMETRY_PAYLOAD_TYPE }),
    );
    expect(envelope.payload).toEqual(payload);
    expect(decodeBatch(envelope.payload).vehicleId).toBe('TRK-0042');
  });

  it('accepts a Buffer as input', () => {
    expect(decodeBatch(Buffer.from(encodeBatch(sampleBatch()))).records).toHaveLength(1);
  });

  it('accepts the largest batch the defaults allow: 5,000 records', () => {
    const records = Array.from({ length: 5_000 }, (_, i) => ({ ...sampleRecord(), odometerM: i }));
    const encoded = encodeBatch({ ...sampleBatch(), records });
    expect(encoded.byteLength).toBeLessThan(DEFAULT_BATCH_LIMITS.maxBytes);
    expect(decodeBatch(encoded).records).toHaveLength(5_000);
  });
});

/** Each mutation is refused by the encoder and, crafted with plain protobuf-es, by the decoder. */
function expectBatchRefused(batch: BatchInit, code: ProtocolErrorCode, field: string): void {
  const onEncode = errorOf(() => encodeBatch(batch));
  expect([onEncode.code, onEncode.field]).toEqual([code, field]);
  const crafted = toBinary(TelemetryBatchSchema, create(TelemetryBatchSchema, batch));
  const onDecode = errorOf(() => decodeBatch(crafted));
  expect([onDecode.code, onDecode.field]).toEqual([code, field]);
}

function expectEnvelopeRefused(envelope: EnvelopeInit, code: ProtocolErrorCode, field: string): void {
  const onEncode = errorOf(() => encodeEnvelope(envelope));
  expect([onEncode.code, onEncode.field]).toEqual([code, field]);
  const crafted = toBinary(SignedEnvelopeSchema, create(SignedEnvelopeSchema, envelope));
  const onDecode = errorOf(() => decodeEnvelope(crafted));
  expect([onDecode.code, onDecode.field]).toEqual([code, field]);
}

const withRecord = (patch: Partial<ReturnType<typeof sampleRecord>>): BatchInit => ({
  ...sampleBatch(),
  records: [{ ...sampleRecord(), ...patch }],
});

describe('batch semantics', () => {
  const cases: [string, BatchInit, ProtocolErrorCode, string][] = [
    ['vehicle id absent', { ...sampleBatch(), vehicleId: '' }, 'PROTOCOL_MISSING_FIELD', 'vehicleId'],
    [
      'vehicle id with a slash',
      { ...sampleBatch(), vehicleId: 'TRK/1' },
      'PROTOCOL_INVALID_FIELD',
      'vehicleId',
    ],
    [
      'vehicle id starting with a dot',
      { ...sampleBatch(), vehicleId: '.hidden' },
      'PROTOCOL_INVALID_FIELD',
      'vehicleId',
    ],
    [
      'vehicle id of 65 characters',
      { ...sampleBatch(), vehicleId: 'A'.repeat(65) },
      'PROTOCOL_INVALID_FIELD',
      'vehicleId',
    ],
    [
      'vehicle id with a newline',
      { ...sampleBatch(), vehicleId: 'TRK-1\n' },
      'PROTOCOL_INVALID_FIELD',
      'vehicleId',
    ],
    ['load id with a space', { ...sampleBatch(), loadId: 'LD 1' }, 'PROTOCOL_INVALID_FIELD', 'loadId'],
    ['first sequence 0', { ...sampleBatch(), firstSequence: 0n }, 'PROTOCOL_MISSING_FIELD', 'firstSequence'],
    [
      'sequence overflow',
      { ...sampleBatch(), firstSequence: 2n ** 64n - 1n, records: [sampleRecord(), sampleRecord()] },
      'PROTOCOL_INVALID_FIELD',
      'firstSequence',
    ],
    ['no records', { ...sampleBatch(), records: [] }, 'PROTOCOL_MISSING_FIELD', 'records'],
    ['sent-at absent', { ...sampleBatch(), sentAtUnixMs: 0n }, 'PROTOCOL_MISSING_FIELD', 'sentAtUnixMs'],
    [
      'sent-at before 1970',
      { ...sampleBatch(), sentAtUnixMs: -1n },
      'PROTOCOL_INVALID_FIELD',
      'sentAtUnixMs',
    ],
    [
      'sent-at after 9999',
      { ...sampleBatch(), sentAtUnixMs: MAX_UNIX_MS + 1n },
      'PROTOCOL_INVALID_FIELD',
      'sentAtUnixMs',
    ],
    ['record time absent', withRecord({ timeUnixMs: 0n }), 'PROTOCOL_MISSING_FIELD', 'records[0].timeUnixMs'],
    ['latitude NaN', withRecord({ latitude: Number.NaN }), 'PROTOCOL_INVALID_FIELD', 'records[0].latitude'],
    ['latitude 90.0001', withRecord({ latitude: 90.0001 }), 'PROTOCOL_INVALID_FIELD', 'records[0].latitude'],
    ['longitude -180.5', withRecord({ longitude: -180.5 }), 'PROTOCOL_INVALID_FIELD', 'records[0].longitude'],
    [
      'longitude Infinity',
      withRecord({ longitude: Infinity }),
      'PROTOCOL_INVALID_FIELD',
      'records[0].longitude',
    ],
    ['speed negative', withRecord({ speedMps: -1 }), 'PROTOCOL_INVALID_FIELD', 'records[0].speedMps'],
    ['speed infinite', withRecord({ speedMps: Infinity }), 'PROTOCOL_INVALID_FIELD', 'records[0].speedMps'],
    ['heading 360', withRecord({ headingDeg: 360 }), 'PROTOCOL_INVALID_FIELD', 'records[0].headingDeg'],
    [
      'heading that rounds to 360 as float32',
      withRecord({ headingDeg: 359.999999 }),
      'PROTOCOL_INVALID_FIELD',
      'records[0].headingDeg',
    ],
    ['odometer negative', withRecord({ odometerM: -0.5 }), 'PROTOCOL_INVALID_FIELD', 'records[0].odometerM'],
    [
      'driving state absent',
      withRecord({ drivingState: DrivingState.UNSPECIFIED }),
      'PROTOCOL_MISSING_FIELD',
      'records[0].drivingState',
    ],
    [
      'driving state unknown',
      withRecord({ drivingState: 99 as DrivingState }),
      'PROTOCOL_INVALID_FIELD',
      'records[0].drivingState',
    ],
    [
      'fault with a space',
      withRecord({ faults: ['OK', 'bad fault'] }),
      'PROTOCOL_INVALID_FIELD',
      'records[0].faults[1]',
    ],
    [
      '33 faults',
      withRecord({ faults: Array.from({ length: 33 }, (_, i) => `F${i}`) }),
      'PROTOCOL_TOO_MANY_FIELDS',
      'records[0].faults',
    ],
    [
      '5,001 records',
      { ...sampleBatch(), records: Array.from({ length: 5_001 }, sampleRecord) },
      'PROTOCOL_TOO_MANY_RECORDS',
      'records',
    ],
  ];
  for (const [name, batch, code, field] of cases) {
    it(`refuses ${name} with ${code}`, () => expectBatchRefused(batch, code, field));
  }

  it('refuses on encode a speed that float32 cannot hold (it would arrive as Infinity)', () => {
    const err = errorOf(() => encodeBatch(withRecord({ speedMps: 1e39 })));
    expect([err.code, err.field]).toEqual(['PROTOCOL_INVALID_FIELD', 'records[0].speedMps']);
  });

  it('accepts the boundaries: latitude ±90, longitude ±180, heading 0, 64-character ids, no load', () => {
    const batch = {
      ...sampleBatch(),
      vehicleId: `a${'-'.repeat(63)}`,
      loadId: '',
      records: [
        { ...sampleRecord(), latitude: 90, longitude: -180, headingDeg: 0, speedMps: 0, faults: [] },
        { ...sampleRecord(), latitude: -90, longitude: 180 },
      ],
    };
    expect(decodeBatch(encodeBatch(batch)).records).toHaveLength(2);
  });
});

describe('envelope semantics', () => {
  const sig = (patch: Partial<EnvelopeInit['signatures'][number]>): EnvelopeInit => {
    const [first] = sampleEnvelope().signatures;
    if (first === undefined) throw new Error('sample has a signature');
    return { ...sampleEnvelope(), signatures: [{ ...first, ...patch }] };
  };
  const cases: [string, EnvelopeInit, ProtocolErrorCode, string][] = [
    [
      'empty payload',
      { ...sampleEnvelope(), payload: new Uint8Array(0) },
      'PROTOCOL_MISSING_FIELD',
      'payload',
    ],
    [
      'payload type absent',
      { ...sampleEnvelope(), payloadType: '' },
      'PROTOCOL_MISSING_FIELD',
      'payloadType',
    ],
    [
      'payload type upper case',
      { ...sampleEnvelope(), payloadType: 'Application/X' },
      'PROTOCOL_INVALID_FIELD',
      'payloadType',
    ],
    ['counter 0', { ...sampleEnvelope(), counter: 0n }, 'PROTOCOL_MISSING_FIELD', 'counter'],
    ['no signatures', { ...sampleEnvelope(), signatures: [] }, 'PROTOCOL_MISSING_FIELD', 'signatures'],
    [
      'algorithm absent',
      sig({ algorithm: SignatureAlgorithm.UNSPECIFIED }),
      'PROTOCOL_MISSING_FIELD',
      'signatures[0].algorithm',
    ],
    [
      'algorithm unknown',
      sig({ algorithm: 42 as SignatureAlgorithm }),
      'PROTOCOL_INVALID_FIELD',
      'signatures[0].algorithm',
    ],
    ['key id absent', sig({ keyId: '' }), 'PROTOCOL_MISSING_FIELD', 'signatures[0].keyId'],
    [
      'key id upper-case hex',
      sig({ keyId: 'AB'.repeat(32) }),
      'PROTOCOL_INVALID_FIELD',
      'signatures[0].keyId',
    ],
    [
      'signature absent',
      sig({ signature: new Uint8Array(0) }),
      'PROTOCOL_MISSING_FIELD',
      'signatures[0].signature',
    ],
    [
      'Ed25519 signature of 63 bytes',
      sig({ signature: new Uint8Array(63) }),
      'PROTOCOL_INVALID_FIELD',
      'signatures[0].signature',
    ],
    [
      'signature of 4,097 bytes',
      sig({ algorithm: SignatureAlgorithm.ED25519_MLDSA65, signature: new Uint8Array(4097) }),
      'PROTOCOL_INVALID_FIELD',
      'signatures[0].signature',
    ],
  ];
  for (const [name, envelope, code, field] of cases) {
    it(`refuses ${name} with ${code}`, () => expectEnvelopeRefused(envelope, code, field));
  }

  it('refuses two signatures by the same key and algorithm', () => {
    const [one] = sampleEnvelope().signatures;
    expect(one).toBeDefined();
    const err = errorOf(() => encodeEnvelope({ ...sampleEnvelope(), signatures: [one ?? {}, one ?? {}] }));
    expect([err.code, err.field]).toEqual(['PROTOCOL_DUPLICATE_FIELD', 'signatures[1]']);
  });

  it('refuses a fifth signature before decoding it', () => {
    const signatures = Array.from({ length: 5 }, (_, i) => ({
      algorithm: SignatureAlgorithm.ED25519,
      keyId: i.toString(16).padStart(64, '0'),
      signature: new Uint8Array(64),
    }));
    expectEnvelopeRefused({ ...sampleEnvelope(), signatures }, 'PROTOCOL_TOO_MANY_FIELDS', 'signatures');
  });
});

describe('limits and arguments', () => {
  it('documents its defaults', () => {
    expect(DEFAULT_ENVELOPE_LIMITS).toEqual({
      maxBytes: 1_048_576,
      maxDepth: 100,
      maxSignatures: 4,
      maxUnknownFields: 64,
    });
    expect(DEFAULT_BATCH_LIMITS).toEqual({
      maxBytes: 1_048_576,
      maxDepth: 100,
      maxRecords: 5_000,
      maxFaultsPerRecord: 32,
      maxUnknownFields: 64,
    });
  });

  it('honours lower limits', () => {
    const two = { ...sampleBatch(), records: [sampleRecord(), sampleRecord()] };
    expect(errorOf(() => decodeBatch(encodeBatch(two), { maxRecords: 1 })).code).toBe(
      'PROTOCOL_TOO_MANY_RECORDS',
    );
    expect(errorOf(() => encodeBatch(two, { maxBytes: 20 })).code).toBe('PROTOCOL_TOO_LARGE');
  });

  it('refuses limits that are not positive integers, or a depth it cannot honour', () => {
    for (const limits of [
      { maxBytes: 0 },
      { maxRecords: 1.5 },
      { maxDepth: 101 },
      { maxRecords: Number.NaN },
    ]) {
      expect(errorOf(() => decodeBatch(new Uint8Array(0), limits)).code).toBe('PROTOCOL_INVALID_ARGUMENT');
    }
    const unknownLimit = { maxBogus: 1 } as unknown as { maxBytes: number };
    expect(errorOf(() => decodeEnvelope(new Uint8Array(0), unknownLimit)).code).toBe(
      'PROTOCOL_INVALID_ARGUMENT',
    );
  });

  it('refuses input that is not bytes', () => {
    expect(errorOf(() => decodeEnvelope('abc' as unknown as Uint8Array)).code).toBe(
      'PROTOCOL_INVALID_ARGUMENT',
    );
  });

  it('refuses values that do not fit the schema when encoding', () => {
    const bad = { ...sampleBatch(), firstSequence: 'one' } as unknown as BatchInit;
    expect(errorOf(() => encodeBatch(bad)).code).toBe('PROTOCOL_INVALID_ARGUMENT');
  });

  it('validateRecord applies the decoder rules to one record', () => {
    expect(() => validateRecord(sampleRecord())).not.toThrow();
    const err = errorOf(() => validateRecord({ ...sampleRecord(), latitude: 91 }));
    expect([err.code, err.field]).toEqual(['PROTOCOL_INVALID_FIELD', 'record.latitude']);
  });

  it('an empty input is a batch with every required field missing', () => {
    expect(errorOf(() => decodeBatch(new Uint8Array(0))).code).toBe('PROTOCOL_MISSING_FIELD');
  });
});

describe('errors', () => {
  it('lists every code once, each in the PROTOCOL_ namespace', () => {
    expect(new Set(PROTOCOL_ERROR_CODES).size).toBe(PROTOCOL_ERROR_CODES.length);
    for (const code of PROTOCOL_ERROR_CODES) expect(code).toMatch(/^PROTOCOL_[A-Z_]+$/);
  });

  it('keeps the cause of a protobuf-es failure', () => {
    const err = errorOf(() => decodeBatch(new Uint8Array([0x0a, 0x01, 0xff])));
    expect(err.code).toBe('PROTOCOL_MALFORMED');
    expect(err.cause).toBeInstanceOf(Error);
  });
});
