/**
 * The protocol package's coded error. Every refusal of a telemetry or envelope encoding — size,
 * wire format, nesting, counts, semantics — is a ProtocolError with one of these codes, so the
 * gateway can answer and audit it by code and a parse of hostile bytes never surfaces as an
 * uncaught exception (CONVENTIONS.md §4, §6). Codes form a closed union and are never reused or
 * renamed. Messages name the field and the rule, never the payload bytes.
 */
export type ProtocolErrorCode =
  /** The input is larger than the byte limit. */
  | 'PROTOCOL_TOO_LARGE'
  /** Not well-formed protobuf wire format for the schema (bad varint, length past the end, field 0 or above 2^29−1, wire type 6/7, unterminated or mismatched group, wrong wire type for a known field, invalid UTF-8). */
  | 'PROTOCOL_MALFORMED'
  /** Messages and groups nest deeper than the depth limit. */
  | 'PROTOCOL_TOO_DEEP'
  /** A batch holds more records than the record limit. */
  | 'PROTOCOL_TOO_MANY_RECORDS'
  /** Too many unknown fields, fault codes in a record, or signatures in an envelope. */
  | 'PROTOCOL_TOO_MANY_FIELDS'
  /** A singular field appears twice on the wire, or two signatures name the same key and algorithm. */
  | 'PROTOCOL_DUPLICATE_FIELD'
  /** A field that must be present is absent (or has its zero value, which proto3 cannot tell apart). */
  | 'PROTOCOL_MISSING_FIELD'
  /** A field is present but its value is outside its documented domain. */
  | 'PROTOCOL_INVALID_FIELD'
  /** The caller passed something that is not bytes, or limits that are not positive integers. */
  | 'PROTOCOL_INVALID_ARGUMENT';

/** Every code, for catalogues and the test that keeps this list, the union and the docs in sync. */
export const PROTOCOL_ERROR_CODES: readonly ProtocolErrorCode[] = [
  'PROTOCOL_TOO_LARGE',
  'PROTOCOL_MALFORMED',
  'PROTOCOL_TOO_DEEP',
  'PROTOCOL_TOO_MANY_RECORDS',
  'PROTOCOL_TOO_MANY_FIELDS',
  'PROTOCOL_DUPLICATE_FIELD',
  'PROTOCOL_MISSING_FIELD',
  'PROTOCOL_INVALID_FIELD',
  'PROTOCOL_INVALID_ARGUMENT',
];

export interface ProtocolErrorOptions {
  cause?: unknown;
  /** Path of the offending field, e.g. `records[3].latitude`. */
  field?: string;
}

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  /** Path of the offending field when one is known, e.g. `records[3].latitude`. */
  readonly field: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, options?: ProtocolErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProtocolError';
    this.code = code;
    this.field = options?.field;
  }
}
