/**
 * The EDI X12 codec's coded error (CONVENTIONS.md §4): a closed union of stable codes, never reused or
 * renamed (catalogue in docs/tendering.md#edi-x12). Threat: an X12 file is attacker-controlled bytes from
 * a partner (OWASP API4, API10); every refusal must be a value the caller can map to a 997/TA1 or a
 * problem+json answer, never an uncaught exception. Messages name the failed check, the segment position
 * (1-based, counted from ISA) and the element position; they never copy element values, because a hostile
 * file must not be able to write into our logs.
 */

export type EdiErrorCode =
  /** The input is larger than `maxFileBytes` (checked before any work). */
  | 'EDI_TOO_LARGE'
  /** Nothing but a byte-order mark and white space. */
  | 'EDI_EMPTY'
  /** The input does not start with an ISA segment. */
  | 'EDI_NOT_X12'
  /** The ISA is not 106 characters with its fixed-width fields, or a field has the wrong form. */
  | 'EDI_ISA_MALFORMED'
  /** The declared delimiters collide with each other, with data characters or with white space. */
  | 'EDI_DELIMITERS_AMBIGUOUS'
  /** A control character or undecodable byte where data is expected (binary input). */
  | 'EDI_INVALID_CHARACTER'
  /** More segments than `maxSegments` (the count stops at the limit). */
  | 'EDI_TOO_MANY_SEGMENTS'
  /** An element longer than `maxElementChars`, or a segment with more than `maxElementsPerSegment`. */
  | 'EDI_ELEMENT_TOO_LONG'
  /** A free-text element (NTE02, K101, …) longer than `maxFreeTextChars`. */
  | 'EDI_FREE_TEXT_TOO_LONG'
  /** A segment identifier that is not 2–3 upper-case letters and digits, or an empty segment. */
  | 'EDI_SEGMENT_SYNTAX'
  /** A segment where the envelope or the transaction set does not allow it (unknown or out of order). */
  | 'EDI_UNEXPECTED_SEGMENT'
  /** A mandatory segment or trailer (GE, SE, IEA, B2, S5, …) is missing. */
  | 'EDI_MISSING_SEGMENT'
  /** A mandatory element is empty or absent. */
  | 'EDI_MISSING_ELEMENT'
  /** An element has the wrong form or length for its type. */
  | 'EDI_INVALID_ELEMENT'
  /** A trailer's control number differs from its header's (IEA02≠ISA13, GE02≠GS06, SE02≠ST02). */
  | 'EDI_CONTROL_NUMBER_MISMATCH'
  /** A trailer's count is wrong (IEA01 groups, GE01 transaction sets, SE01 segments). */
  | 'EDI_CONTROL_COUNT_MISMATCH'
  /** A group or transaction-set control number repeats inside one interchange. */
  | 'EDI_DUPLICATE_CONTROL_NUMBER'
  /** ISA12 / GS08 name a version other than the 004010 and 005010 families. */
  | 'EDI_VERSION_UNSUPPORTED'
  /** 4010 and 5010 mixed: ISA12 against GS08, GS08 against ST03, ST03 in a 4010 set. */
  | 'EDI_VERSION_MISMATCH'
  /** A date that does not exist (20230230) or has the wrong form. */
  | 'EDI_INVALID_DATE'
  /** A time that does not exist (2460) or has the wrong form. */
  | 'EDI_INVALID_TIME'
  /** A numeric element that is not a number of the element's type. */
  | 'EDI_INVALID_NUMBER'
  /** A code value outside the code list this codec accepts for the element. */
  | 'EDI_UNKNOWN_CODE'
  /** Anything but white space after the IEA (a second interchange included). */
  | 'EDI_TRAILING_DATA'
  /** A valid 204 that cannot become a gateway tender request (no pickup stop, no time zone, …). */
  | 'EDI_UNMAPPABLE'
  /** A generator was given unusable input (a delimiter inside data, a control number out of range, …). */
  | 'EDI_INVALID_ARGUMENT';

/** Where in the interchange a failure was found. Positions are 1-based. */
export interface EdiLocation {
  /** Segment position counted from the ISA (ISA = 1). */
  segment?: number;
  /** Segment identifier, e.g. "SE" (already checked to be 2–3 upper-case alphanumerics). */
  segmentId?: string;
  /** Segment position inside its transaction set (ST = 1), for the 997's AK3. */
  segmentInSet?: number;
  /** Element position inside the segment (ISA01 = 1). */
  element?: number;
}

/** The envelope a failure happened in, so that the caller can still acknowledge (997) what it received. */
export interface EdiContext {
  functionalId?: string;
  groupControlNumber?: string;
  /** GS08 as received. */
  groupVersion?: string;
  transactionSetId?: string;
  transactionSetControlNumber?: string;
}

export class EdiError extends Error {
  readonly code: EdiErrorCode;
  readonly location: EdiLocation;
  readonly context: EdiContext;
  /** The message without its location suffix. */
  readonly detail: string;

  constructor(
    code: EdiErrorCode,
    message: string,
    location: EdiLocation = {},
    options?: { cause?: unknown; context?: EdiContext },
  ) {
    super(message + describe(location), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EdiError';
    this.code = code;
    this.detail = message;
    this.location = location;
    this.context = options?.context ?? {};
  }

  /** The same error with the envelope it was found in (the innermost context wins) and more location. */
  within(context: EdiContext, location: EdiLocation = {}): EdiError {
    return new EdiError(
      this.code,
      this.detail,
      { ...location, ...this.location },
      { cause: this.cause, context: { ...context, ...this.context } },
    );
  }
}

function describe(l: EdiLocation): string {
  const parts: string[] = [];
  if (l.segmentId !== undefined) parts.push(`segment ${l.segmentId}`);
  if (l.segment !== undefined) parts.push(`at position ${l.segment}`);
  if (l.element !== undefined) parts.push(`element ${String(l.element).padStart(2, '0')}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

export const isEdiError = (e: unknown): e is EdiError => e instanceof EdiError;
