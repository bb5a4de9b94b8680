/**
 * Element accessors that fail with coded errors naming the segment position and element (ASC X12.6
 * element reference designators: N104 = segment N1, element 04). Shared by the envelope validator and
 * the transaction-set readers, so that every element is checked the same way.
 */
import { EdiError, type EdiLocation } from '../errors.ts';
import type { Segment } from '../types.ts';

export const loc = (seg: Segment, element?: number): EdiLocation =>
  element === undefined
    ? { segment: seg.position, segmentId: seg.id }
    : { segment: seg.position, segmentId: seg.id, element };

/** Element `n` (1-based), '' when absent. */
export const value = (seg: Segment, n: number): string => seg.elements[n - 1] ?? '';

export function required(seg: Segment, n: number): string {
  const v = value(seg, n);
  if (v.trim().length === 0) {
    throw new EdiError('EDI_MISSING_ELEMENT', 'a mandatory element is empty', loc(seg, n));
  }
  return v;
}

/** An identifier element whose value must be one of `codes`; '' when optional and absent. */
export function code<T extends string>(
  seg: Segment,
  n: number,
  codes: ReadonlySet<T> | readonly T[],
  mandatory: boolean,
): T | undefined {
  const v = mandatory ? required(seg, n) : value(seg, n);
  if (v === '') return undefined;
  const known = Array.isArray(codes) ? codes.includes(v as T) : (codes as ReadonlySet<T>).has(v as T);
  if (!known) throw new EdiError('EDI_UNKNOWN_CODE', 'a code value this codec does not accept', loc(seg, n));
  return v as T;
}

/** An X12 R (decimal) or N0 (integer) element; undefined when optional and absent. */
export function decimal(seg: Segment, n: number, mandatory: boolean, integer = false): number | undefined {
  const v = mandatory ? required(seg, n) : value(seg, n);
  if (v === '') return undefined;
  const re = integer ? /^-?\d{1,15}$/ : /^-?(\d{1,15}(\.\d{0,6})?|\.\d{1,6})$/;
  if (!re.test(v)) throw new EdiError('EDI_INVALID_NUMBER', 'not a number of the element type', loc(seg, n));
  return Number(v);
}

/** An element that must match `pattern` (length and character class). */
export function shaped(seg: Segment, n: number, pattern: RegExp, mandatory: boolean, what: string): string {
  const v = mandatory ? required(seg, n) : value(seg, n);
  if (v !== '' && !pattern.test(v)) {
    throw new EdiError('EDI_INVALID_ELEMENT', `${what} has the wrong form`, loc(seg, n));
  }
  return v;
}

/** Free text, bounded by `max` characters (NTE02, K101, …). */
export function freeText(seg: Segment, n: number, max: number): string {
  const v = value(seg, n);
  if (v.length > max) {
    throw new EdiError('EDI_FREE_TEXT_TOO_LONG', `free text exceeds ${max} characters`, loc(seg, n));
  }
  return v;
}

/** True when `s` holds a C0 control character or DEL (binary data where text is expected). */
export function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i += 1) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
