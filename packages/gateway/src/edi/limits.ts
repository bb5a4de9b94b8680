/**
 * The codec's documented limits (docs/tendering.md#limits). Threat: resource exhaustion by an oversized
 * or pathological file (OWASP API4). Each limit is enforced before the work it bounds: the size before
 * decoding, the segment count while splitting (it stops at the limit instead of materialising 100,000
 * segments), element and free-text lengths as each element is read.
 */

export interface EdiLimits {
  /** Whole input, in bytes. */
  maxFileBytes: number;
  /** Segments in one interchange, ISA and IEA included. */
  maxSegments: number;
  /** Data elements in one segment. */
  maxElementsPerSegment: number;
  /** Characters in one element (X12's longest standard element is 264 characters). */
  maxElementChars: number;
  /** Characters in one free-text element (NTE02, K101, K102): X12 allows NTE02 80 characters. */
  maxFreeTextChars: number;
}

export const DEFAULT_EDI_LIMITS: Readonly<EdiLimits> = Object.freeze({
  maxFileBytes: 10 * 1024 * 1024,
  maxSegments: 20_000,
  maxElementsPerSegment: 64,
  maxElementChars: 264,
  maxFreeTextChars: 80,
});
