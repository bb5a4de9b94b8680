/**
 * The shapes of a tokenized and a validated X12 interchange (ASC X12.5 / X12.6 envelope: ISA/IEA,
 * GS/GE, ST/SE). Types only; what each field is checked against is in validate-envelope.ts.
 */

/** The two version families this codec reads and writes (ISA12 00401 / 00501, GS08 004010… / 005010…). */
export type X12Version = '4010' | '5010';

export interface Delimiters {
  /** ISA's fourth character. */
  element: string;
  /** ISA16. */
  component: string;
  /** ISA11 in 5010 (undefined in 4010, where ISA11 is the standards identifier `U`). */
  repetition: string | undefined;
  /** The character(s) after ISA16: `~`, `\n`, `\r\n`, 0x1D, 0x85, `…`, … */
  segment: string;
}

export interface Segment {
  /** Segment identifier, e.g. "N1". */
  id: string;
  /** Data elements after the identifier: `elements[0]` is element 01. Values are decoded text. */
  elements: readonly string[];
  /** Position counted from the ISA (ISA = 1). */
  position: number;
}

export interface Tokens {
  delimiters: Delimiters;
  segments: readonly Segment[];
  /** A UTF-8 byte-order mark preceded the ISA (tolerated and removed). */
  hadBom: boolean;
  /** Line breaks were removed from inside segments (lines wrapped at a fixed width). */
  unwrapped: boolean;
}

export interface InterchangeParty {
  /** ISA05 / ISA07. */
  qualifier: string;
  /** ISA06 / ISA08 with its padding removed. */
  id: string;
}

export interface TransactionSet {
  /** ST01, e.g. "204". */
  id: string;
  /** ST02. */
  controlNumber: string;
  /** ST03 (5010 only; undefined when absent). */
  implementationReference: string | undefined;
  /** Segments between ST and SE, both excluded. */
  body: readonly Segment[];
  /** ST's position counted from the ISA. */
  position: number;
}

export interface FunctionalGroup {
  /** GS01, e.g. "SM" for 204. */
  functionalId: string;
  /** GS02 / GS03. */
  applicationSender: string;
  applicationReceiver: string;
  /** GS04 + GS05 as received (CCYYMMDD, HHMM[SS[D[D]]]). */
  date: string;
  time: string;
  /** GS06. */
  controlNumber: string;
  /** GS08 as received, e.g. "004010" or "005010". */
  versionCode: string;
  transactionSets: readonly TransactionSet[];
  position: number;
}

export interface Interchange {
  version: X12Version;
  delimiters: Delimiters;
  sender: InterchangeParty;
  receiver: InterchangeParty;
  /** ISA09 + ISA10 (YYMMDD, HHMM). */
  date: string;
  time: string;
  /**
   * ISA13, nine digits. Duplicate detection (interchange replay) is the caller's: the store keeps the
   * numbers it has seen per partner.
   */
  interchangeControlNumber: string;
  /** ISA14 = 1. */
  acknowledgmentRequested: boolean;
  /** ISA15 = T: a test interchange, for the sandbox only. */
  test: boolean;
  groups: readonly FunctionalGroup[];
  hadBom: boolean;
  unwrapped: boolean;
}
