/**
 * The Protobuf items of SECURITY-CHECKLIST.md, one named mutation each, with the code it must
 * produce. Each hostile case has a positive control next to it where a boundary is involved, so a
 * check that refused everything would fail here too.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from '../src/errors.ts';
import {
  decodeBatch,
  decodeEnvelope,
  encodeBatch,
  encodeEnvelope,
  TelemetryBatchSchema,
  TelemetryRecordSchema,
} from '../src/telemetry.ts';
import { sampleBatch, sampleEnvelope, sampleRecord } from './arbitraries.ts';
import { bytes, lenField, nestedGroups, tag, varint } from './wire.ts';

const MIB = 1_048_576;

function codeOf(fn: () => unknown): ProtocolErrorCode {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError, got a value');
}

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError, got a value');
}

const validEnvelope = (): Uint8Array => encodeEnvelope(sampleEnvelope());
const validBatch = (): Uint8Array => encodeBatch(sampleBatch());
/** Envelope fields 1 and 2 (payload, payload type), to which tests add a hostile counter. */
const envelopeHead = (): Uint8Array =>
  bytes(lenField(1, [1, 2, 3]), lenField(2, new TextEncoder().encode('application/x-test')));

describe('varints', () => {
  it('varint-11-bytes: refuses a varint longer than 10 bytes', () => {
    const input = bytes(envelopeHead(), tag(3, 0), new Array(10).fill(0xff), [0x01]);
    const err = errorOf(() => decodeEnvelope(input));
    expect(err.code).toBe('PROTOCOL_MALFORMED');
    expect(err.message).toMatch(/longer than 10 bytes/);
  });

  it('varint-11-bytes@unknown-field: refuses it in a field the schema does not know either', () => {
    const input = bytes(validEnvelope(), tag(20, 0), new Array(10).fill(0x80), [0x00]);
    expect(codeOf(() => decodeEnvelope(input))).toBe('PROTOCOL_MALFORMED');
  });

  it('varint-overflow@10th-byte: refuses a 10-byte varint whose last byte exceeds 64 bits', () => {
    const input = bytes(envelopeHead(), tag(3, 0), new Array(9).fill(0xff), [0x02]);
    expect(errorOf(() => decodeEnvelope(input)).message).toMatch(/overflows 64 bits/);
  });

  it('control: accepts the 10-byte varint of 2^64−1', () => {
    const envelope = { ...sampleEnvelope(), counter: 2n ** 64n - 1n };
    const encoded = encodeEnvelope(envelope);
    expect(decodeEnvelope(encoded).counter).toBe(2n ** 64n - 1n);
  });

  it('varint-truncated: refuses a varint cut off by the end of input', () => {
    expect(codeOf(() => decodeEnvelope(bytes(envelopeHead(), tag(3, 0), [0x80, 0x80])))).toBe(
      'PROTOCOL_MALFORMED',
    );
  });

  it('control: accepts a non-canonical (padded) varint; signatures cover the bytes received', () => {
    const input = bytes(
      envelopeHead(),
      tag(3, 0),
      [0x87, 0x80, 0x00], // 7, padded to three bytes
      lenField(4, toBinaryOfSignature()),
    );
    expect(decodeEnvelope(input).counter).toBe(7n);
  });
});

function toBinaryOfSignature(): Uint8Array {
  return bytes(
    tag(1, 0),
    [1],
    lenField(2, new TextEncoder().encode('ab'.repeat(32))),
    lenField(3, new Uint8Array(64)),
  );
}

describe('length prefixes', () => {
  it('length-past-end: refuses a length prefix beyond the input', () => {
    const input = bytes(tag(1, 2), varint(100), [1, 2, 3]);
    expect(errorOf(() => decodeEnvelope(input)).message).toMatch(/runs past the end/);
  });

  it('length-past-end@nested: refuses a field that runs past its enclosing message, even within the input', () => {
    // A record claiming 5 bytes whose fault string claims 10: protobuf-es alone would read on into
    // the next batch field. The batch continues for 20 more bytes so the string fits the buffer.
    const record = [...tag(8, 2), 10, 0x61, 0x62, 0x63];
    const input = bytes(tag(4, 2), varint(5), record, lenField(1, new Uint8Array(18).fill(0x61)));
    expect(codeOf(() => decodeBatch(input))).toBe('PROTOCOL_MALFORMED');
  });

  it('length-past-end@nested: protobuf-es alone would silently accept this overrun; the pre-scan refuses it', () => {
    // Record of 5 bytes whose fault string claims 5: it swallows two bytes of the batch, and the
    // batch reads sent_at = 5 from what a stricter parser would see as the string's tail.
    const input = bytes([0x22, 5, 0x42, 5, 0x61, 0x62, 0x63, 0x28, 0x01, 0x28, 0x05]);
    expect(fromBinary(TelemetryBatchSchema, input).sentAtUnixMs).toBe(5n);
    expect(codeOf(() => decodeBatch(input))).toBe('PROTOCOL_MALFORMED');
  });

  it('fixed64-truncated: refuses a double cut off by the end of its record', () => {
    const record = [...tag(2, 1), 0, 0, 0, 0];
    expect(codeOf(() => decodeBatch(bytes(lenField(4, record))))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('field numbers and wire types', () => {
  it('field-0: refuses field number 0', () => {
    expect(errorOf(() => decodeEnvelope(bytes([0x00, 0x00]))).message).toMatch(/field number 0/);
    expect(codeOf(() => decodeEnvelope(bytes(validEnvelope(), [0x02, 0x00])))).toBe('PROTOCOL_MALFORMED');
  });

  it('field-2^29: refuses a field number above 2^29−1', () => {
    const input = bytes(validEnvelope(), tag(2 ** 29, 0), [0]);
    expect(errorOf(() => decodeEnvelope(input)).message).toMatch(/above 2\^29-1/);
  });

  it('control: accepts (and drops) an unknown field numbered 2^29−1', () => {
    const decoded = decodeEnvelope(bytes(validEnvelope(), tag(2 ** 29 - 1, 0), [5]));
    expect(decoded.counter).toBe(7n);
    expect(decoded.$unknown).toBeUndefined();
  });

  for (const wireType of [6, 7]) {
    it(`wire-type-${wireType}: refuses wire type ${wireType}`, () => {
      const input = bytes(validEnvelope(), tag(20, wireType), [0]);
      expect(errorOf(() => decodeEnvelope(input)).message).toMatch(new RegExp(`wire type ${wireType}`));
    });
  }

  it('wrong-wire-type@known-field: refuses a double sent as a varint (protobuf-es alone misreads it)', () => {
    const record = [...tag(2, 0), 5, 0, 0, 0, 0, 0, 0xf0, 0x3f];
    expect(fromBinary(TelemetryBatchSchema, bytes(lenField(4, record))).records[0]?.latitude).toBe(
      1.000000000000001,
    );
    expect(errorOf(() => decodeBatch(bytes(lenField(4, record)))).message).toMatch(/schema expects 1/);
  });

  it('wrong-wire-type@group: refuses a known field sent as a group', () => {
    expect(codeOf(() => decodeEnvelope(bytes(tag(1, 3), tag(1, 4))))).toBe('PROTOCOL_MALFORMED');
  });

  it('duplicate-singular: refuses a singular field sent twice (parser differential)', () => {
    const input = bytes(validEnvelope(), tag(3, 0), [8]);
    const err = errorOf(() => decodeEnvelope(input));
    expect(err.code).toBe('PROTOCOL_DUPLICATE_FIELD');
    expect(err.field).toBe('counter');
    const batch = bytes(validBatch(), lenField(1, new TextEncoder().encode('TRK-9')));
    expect(codeOf(() => decodeBatch(batch))).toBe('PROTOCOL_DUPLICATE_FIELD');
  });

  it('invalid-utf8: refuses a string that is not UTF-8', () => {
    const rest = toBinary(
      TelemetryBatchSchema,
      create(TelemetryBatchSchema, { ...sampleBatch(), vehicleId: '' }),
    );
    const input = bytes(lenField(1, [0xff, 0xfe]), rest);
    expect(codeOf(() => decodeBatch(input))).toBe('PROTOCOL_MALFORMED');
  });
});

describe('groups and depth', () => {
  it('unterminated-group: refuses a group without its end tag', () => {
    const input = bytes(validEnvelope(), tag(20, 3), tag(21, 0), [1]);
    expect(errorOf(() => decodeEnvelope(input)).message).toMatch(/unterminated group/);
  });

  it('mismatched-group: refuses a group closed by another field number', () => {
    const input = bytes(validEnvelope(), tag(20, 3), tag(21, 4));
    expect(codeOf(() => decodeEnvelope(input))).toBe('PROTOCOL_MALFORMED');
  });

  it('stray-end-group: refuses an end-group tag with no group open', () => {
    expect(codeOf(() => decodeEnvelope(bytes(validEnvelope(), tag(20, 4))))).toBe('PROTOCOL_MALFORMED');
  });

  it('deep-groups@100: refuses groups nested past depth 100', () => {
    // The envelope is depth 1, so 99 nested groups reach depth 100 and 100 reach 101.
    expect(decodeEnvelope(bytes(validEnvelope(), nestedGroups(20, 99))).counter).toBe(7n);
    expect(codeOf(() => decodeEnvelope(bytes(validEnvelope(), nestedGroups(20, 100))))).toBe(
      'PROTOCOL_TOO_DEEP',
    );
  });

  it('deep-groups@100000: refuses 100,000 nested groups without exhausting the stack', () => {
    expect(codeOf(() => decodeEnvelope(bytes(validEnvelope(), nestedGroups(20, 100_000))))).toBe(
      'PROTOCOL_TOO_DEEP',
    );
  });

  it('deep-groups@inside-record: counts depth from the top, through nested messages', () => {
    // batch (1) > record (2) > 98 groups (100) is accepted; one more group is refused.
    const ok = bytes(lenField(4, bytes(encodeRecordBody(), nestedGroups(30, 98))));
    const tooDeep = bytes(lenField(4, bytes(encodeRecordBody(), nestedGroups(30, 99))));
    const rest = bytes(
      lenField(1, new TextEncoder().encode('TRK-1')),
      tag(3, 0),
      [1],
      tag(5, 0),
      varint(1_750_000_000_000n),
    );
    expect(decodeBatch(bytes(rest, ok)).records).toHaveLength(1);
    expect(codeOf(() => decodeBatch(bytes(rest, tooDeep)))).toBe('PROTOCOL_TOO_DEEP');
  });

  it('max-depth: honours a lower depth limit on message nesting', () => {
    expect(codeOf(() => decodeBatch(validBatch(), { maxDepth: 1 }))).toBe('PROTOCOL_TOO_DEEP');
    expect(decodeBatch(validBatch(), { maxDepth: 2 }).records).toHaveLength(1);
  });
});

function encodeRecordBody(): Uint8Array {
  return toBinary(TelemetryRecordSchema, create(TelemetryRecordSchema, sampleRecord()));
}

describe('amplification and floods', () => {
  it('packed-amplification@1MiB: refuses an envelope carrying 1 MiB of one-byte varints', () => {
    const packed = new Uint8Array(MIB).fill(0x01);
    const input = bytes(lenField(1, packed), envelopeHead());
    expect(codeOf(() => decodeEnvelope(input))).toBe('PROTOCOL_TOO_LARGE');
  });

  it('packed-amplification@singular-enum: refuses packed varints in the singular driving_state', () => {
    const packed = new Uint8Array(512 * 1024).fill(0x02);
    const input = bytes(lenField(4, lenField(7, packed)));
    expect(codeOf(() => decodeBatch(input))).toBe('PROTOCOL_MALFORMED');
  });

  it('packed-amplification@unknown-field: 1 MiB−1 KiB of one-byte varints in an unknown field is skipped, not materialised', () => {
    const packed = new Uint8Array(MIB - 1024).fill(0x01);
    const decoded = decodeBatch(bytes(validBatch(), lenField(9, packed)));
    expect(decoded.records).toHaveLength(1);
    expect(decoded.$unknown).toBeUndefined();
  });

  it('records-amplification@1MiB: refuses half a million empty records before materialising them', () => {
    const count = (MIB - 16) / 2;
    const input = new Uint8Array(count * 2);
    for (let i = 0; i < input.length; i += 2) input[i] = 0x22; // field 4, length 0
    const err = errorOf(() => decodeBatch(input));
    expect(err.code).toBe('PROTOCOL_TOO_MANY_RECORDS');
    expect(err.field).toBe('records');
  });

  it('faults-amplification@1MiB: refuses a record with half a million empty fault strings', () => {
    const body = new Uint8Array(MIB - 64);
    for (let i = 0; i < body.length; i += 2) body[i] = 0x42; // field 8, length 0
    expect(codeOf(() => decodeBatch(lenField(4, body)))).toBe('PROTOCOL_TOO_MANY_FIELDS');
  });

  it('unknown-field-flood: refuses the 65th unknown field of one message; 64 are accepted', () => {
    const flood = (n: number) => {
      const parts: number[] = [];
      for (let i = 0; i < n; i++) parts.push(...tag(100 + i, 0), 1);
      return parts;
    };
    expect(decodeBatch(bytes(validBatch(), flood(64))).vehicleId).toBe('TRK-0042');
    expect(codeOf(() => decodeBatch(bytes(validBatch(), flood(65))))).toBe('PROTOCOL_TOO_MANY_FIELDS');
    expect(codeOf(() => decodeEnvelope(bytes(validEnvelope(), flood(65))))).toBe('PROTOCOL_TOO_MANY_FIELDS');
  });

  it('forward compatibility: a new field in every record does not count against the batch', () => {
    const records = Array.from({ length: 100 }, () => lenField(4, bytes(encodeRecordBody(), tag(9, 0), [1])));
    const head = bytes(
      lenField(1, new TextEncoder().encode('TRK-1')),
      tag(3, 0),
      [1],
      tag(5, 0),
      varint(1_750_000_000_000n),
    );
    expect(decodeBatch(bytes(head, ...records)).records).toHaveLength(100);
  });

  it('too-large: refuses input over the byte limit before looking at it', () => {
    expect(codeOf(() => decodeEnvelope(new Uint8Array(MIB + 1)))).toBe('PROTOCOL_TOO_LARGE');
    expect(codeOf(() => decodeBatch(validBatch(), { maxBytes: 10 }))).toBe('PROTOCOL_TOO_LARGE');
  });
});
