/**
 * Defensive pre-scan of protobuf wire format (protobuf encoding spec, "Message Structure"), run
 * over attacker-controlled bytes BEFORE protobuf-es parses them.
 *
 * Threats: protobuf-es is a fast, lenient decoder. It trusts a field's wire type to match the
 * schema (a fixed64 double sent as a varint is silently misread), lets a nested message's last
 * field run past its length prefix, keeps the last of duplicated singular fields (a parser
 * differential between a signer and a verifier), materialises one object per repeated element
 * (1 MiB of two-byte empty records is half a million objects: amplification) and throws plain
 * Errors or RangeErrors on truncation. This scan walks the bytes once, allocates nothing per
 * element, and refuses with a coded ProtocolError:
 *   - varints longer than 10 bytes, or whose 10th byte overflows 64 bits      PROTOCOL_MALFORMED
 *   - truncated values, length prefixes past the end of the enclosing message PROTOCOL_MALFORMED
 *   - field number 0 or above 2^29−1, wire types 6 and 7                      PROTOCOL_MALFORMED
 *   - end-group without start, unterminated or mismatched groups              PROTOCOL_MALFORMED
 *   - a known field with a wire type its schema does not allow                PROTOCOL_MALFORMED
 *   - a singular known field repeated                                         PROTOCOL_DUPLICATE_FIELD
 *   - messages and groups nested deeper than maxDepth (top level is depth 1)  PROTOCOL_TOO_DEEP
 *   - more unknown fields in one message than maxUnknownFields (floods)       PROTOCOL_TOO_MANY_FIELDS
 *   - more elements in a repeated field than its count limit                  the limit's own code
 * Unknown fields are skipped (protobuf-es is told not to keep them), so their only cost is this
 * linear walk; the per-message cap still catches a flood early without breaking forward
 * compatibility, where a newer sender adds a few fields to every record.
 * Recursion is bounded by maxDepth, which the caller caps at protobuf-es's recursionLimit (100),
 * so every input this scan accepts is one protobuf-es decodes without hitting its own limits.
 *
 * The plan is derived from the generated descriptors, so it follows the schema. Field shapes the
 * telemetry schema does not use (groups, maps, oneofs, packed numeric lists) are refused when the
 * plan is built, at module load, rather than scanned by code no test exercises.
 */
import { type DescField, type DescMessage, ScalarType } from '@bufbuild/protobuf';
import { ProtocolError, type ProtocolErrorCode } from '../errors.ts';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

const MAX_TAG = 0xffffffff; // field number 2^29−1 with wire type 7
const MAX_VARINT_BYTES = 10;

interface FieldPlan {
  readonly desc: DescField;
  readonly wireType: number;
  readonly repeated: boolean;
  /** Plan of the nested message, for message fields. */
  readonly message: MessagePlan | undefined;
}

export interface MessagePlan {
  readonly typeName: string;
  readonly fields: ReadonlyMap<number, FieldPlan>;
}

export interface CountLimit {
  readonly max: number;
  readonly code: ProtocolErrorCode;
}

export interface ScanLimits {
  /** Depth of the top-level message is 1; each nested message or group adds 1. */
  readonly maxDepth: number;
  /** Unknown fields per message (an unknown group counts once, whatever it holds). */
  readonly maxUnknownFields: number;
  /** Per repeated field (by descriptor), the most elements one message may hold. */
  readonly counts: ReadonlyMap<DescField, CountLimit>;
}

const plans = new Map<DescMessage, MessagePlan>();

/** Builds (once) the scan plan for a message type from its generated descriptor. */
export function planFor(desc: DescMessage): MessagePlan {
  const cached = plans.get(desc);
  if (cached !== undefined) return cached;
  const fields = new Map<number, FieldPlan>();
  const plan: MessagePlan = { typeName: desc.typeName, fields };
  // Registered before its fields so that a recursive type resolves to this plan.
  plans.set(desc, plan);
  for (const field of desc.fields) fields.set(field.number, fieldPlan(field));
  return plan;
}

function fieldPlan(field: DescField): FieldPlan {
  const unsupported = (what: string): never => {
    throw new Error(`wire-scan: ${field.toString()} uses ${what}, which the pre-scan does not support`);
  };
  if (field.oneof !== undefined) unsupported('a oneof');
  switch (field.fieldKind) {
    case 'scalar':
      return { desc: field, wireType: scalarWireType(field.scalar), repeated: false, message: undefined };
    case 'enum':
      return { desc: field, wireType: WIRE_VARINT, repeated: false, message: undefined };
    case 'message':
      if (field.delimitedEncoding) unsupported('group encoding');
      return { desc: field, wireType: WIRE_LEN, repeated: false, message: planFor(field.message) };
    case 'list':
      if (field.listKind === 'message') {
        if (field.delimitedEncoding) unsupported('group encoding');
        return { desc: field, wireType: WIRE_LEN, repeated: true, message: planFor(field.message) };
      }
      if (
        field.listKind === 'scalar' &&
        (field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES)
      ) {
        return { desc: field, wireType: WIRE_LEN, repeated: true, message: undefined };
      }
      return unsupported('a packable numeric list');
    case 'map':
      return unsupported('a map');
  }
}

function scalarWireType(scalar: ScalarType): number {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WIRE_FIXED64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WIRE_FIXED32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WIRE_LEN;
    default:
      return WIRE_VARINT;
  }
}

interface Scanner {
  readonly bytes: Uint8Array;
  pos: number;
  readonly limits: ScanLimits;
}

/**
 * Walks `bytes` as one message of type `plan`; returns normally only if the whole input is
 * well-formed for the schema and within the limits. `bytes` is attacker-controlled: every read is
 * bounded by the end of the enclosing message, never by the end of the buffer alone.
 */
export function scanMessage(bytes: Uint8Array, plan: MessagePlan, limits: ScanLimits): void {
  const scanner: Scanner = { bytes, pos: 0, limits };
  scanFields(scanner, plan, bytes.byteLength, 1, '');
}

/** `path` names the message being scanned for error reports, e.g. `records[3]` ('' at the top). */
function scanFields(s: Scanner, plan: MessagePlan, end: number, depth: number, path: string): void {
  if (depth > s.limits.maxDepth) {
    throw new ProtocolError('PROTOCOL_TOO_DEEP', `nesting deeper than ${s.limits.maxDepth}`);
  }
  let seen: Set<number> | undefined;
  let counts: Map<number, number> | undefined;
  let unknown = 0;
  while (s.pos < end) {
    const tagAt = s.pos;
    const tag = readVarint(s, end);
    const [fieldNo, wireType] = splitTag(tag, tagAt);
    if (wireType === WIRE_END_GROUP) malformed(`end-group tag without a start group at offset ${tagAt}`);
    const field = plan.fields.get(fieldNo);
    if (field === undefined) {
      if (++unknown > s.limits.maxUnknownFields) {
        throw new ProtocolError(
          'PROTOCOL_TOO_MANY_FIELDS',
          `${plan.typeName} has more than ${s.limits.maxUnknownFields} unknown fields`,
        );
      }
      skipValue(s, fieldNo, wireType, end, depth);
      continue;
    }
    const name = `${plan.typeName}.${field.desc.name}`;
    const fieldPath = path === '' ? field.desc.localName : `${path}.${field.desc.localName}`;
    if (wireType !== field.wireType) {
      malformed(`${name} has wire type ${wireType}, the schema expects ${field.wireType}`);
    }
    if (field.repeated) {
      counts ??= new Map();
      const count = (counts.get(fieldNo) ?? 0) + 1;
      counts.set(fieldNo, count);
      const limit = s.limits.counts.get(field.desc);
      if (limit !== undefined && count > limit.max) {
        throw new ProtocolError(limit.code, `${name} has more than ${limit.max} elements`, {
          field: fieldPath,
        });
      }
    } else {
      seen ??= new Set();
      if (seen.has(fieldNo)) {
        throw new ProtocolError('PROTOCOL_DUPLICATE_FIELD', `${name} appears more than once`, {
          field: fieldPath,
        });
      }
      seen.add(fieldNo);
    }
    if (field.message !== undefined) {
      const length = readLength(s, end);
      const subPath = field.repeated ? `${fieldPath}[${(counts?.get(fieldNo) ?? 1) - 1}]` : fieldPath;
      scanFields(s, field.message, s.pos + length, depth + 1, subPath);
    } else {
      skipValue(s, fieldNo, wireType, end, depth);
    }
  }
}

function skipValue(s: Scanner, fieldNo: number, wireType: number, end: number, depth: number): void {
  switch (wireType) {
    case WIRE_VARINT:
      readVarint(s, end);
      return;
    case WIRE_FIXED64:
      advance(s, 8, end);
      return;
    case WIRE_FIXED32:
      advance(s, 4, end);
      return;
    case WIRE_LEN:
      advance(s, readLength(s, end), end);
      return;
    case WIRE_START_GROUP:
      skipGroup(s, fieldNo, end, depth + 1);
      return;
    default:
      // WIRE_END_GROUP is handled by the callers; 6 and 7 are refused by splitTag.
      malformed(`unexpected wire type ${wireType}`);
  }
}

/** Skips an (unknown) group up to its matching end-group tag. */
function skipGroup(s: Scanner, fieldNo: number, end: number, depth: number): void {
  if (depth > s.limits.maxDepth) {
    throw new ProtocolError('PROTOCOL_TOO_DEEP', `nesting deeper than ${s.limits.maxDepth}`);
  }
  for (;;) {
    if (s.pos >= end) malformed(`unterminated group ${fieldNo}`);
    const tagAt = s.pos;
    const [innerNo, innerType] = splitTag(readVarint(s, end), tagAt);
    if (innerType === WIRE_END_GROUP) {
      if (innerNo !== fieldNo) malformed(`group ${fieldNo} closed by end-group ${innerNo}`);
      return;
    }
    skipValue(s, innerNo, innerType, end, depth);
  }
}

function splitTag(tag: number, at: number): [fieldNo: number, wireType: number] {
  if (tag > MAX_TAG) malformed(`field number above 2^29-1 at offset ${at}`);
  const fieldNo = Math.floor(tag / 8);
  const wireType = tag % 8;
  if (fieldNo === 0) malformed(`field number 0 at offset ${at}`);
  if (wireType === 6 || wireType === 7) malformed(`invalid wire type ${wireType} at offset ${at}`);
  return [fieldNo, wireType];
}

/** A length prefix; it must fit in what remains of the enclosing message. */
function readLength(s: Scanner, end: number): number {
  const at = s.pos;
  const length = readVarint(s, end);
  if (length > end - s.pos) malformed(`length prefix at offset ${at} runs past the end`);
  return length;
}

/**
 * Reads a base-128 varint. The value is exact up to 2^53 and only compared against bounds far
 * below that (tags, lengths), so a float accumulator is enough; 64-bit values are validated, not
 * used.
 */
function readVarint(s: Scanner, end: number): number {
  const start = s.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (s.pos >= end) malformed(`truncated varint at offset ${start}`);
    const byte = s.bytes[s.pos++] as number;
    if (i === MAX_VARINT_BYTES - 1) {
      if (byte >= 0x80) malformed(`varint longer than ${MAX_VARINT_BYTES} bytes at offset ${start}`);
      if (byte > 1) malformed(`varint overflows 64 bits at offset ${start}`);
    }
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
}

function advance(s: Scanner, count: number, end: number): void {
  if (count > end - s.pos) malformed(`value at offset ${s.pos} runs past the end`);
  s.pos += count;
}

function malformed(message: string): never {
  throw new ProtocolError('PROTOCOL_MALFORMED', message);
}
