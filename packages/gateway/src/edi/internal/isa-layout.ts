/**
 * The ISA's fixed layout (ASC X12.5 interchange control header): 16 fixed-width fields, so that a reader
 * can learn the delimiters before it knows them. ISA = "ISA" + 16 × (separator + field) + terminator =
 * 106 characters. Shared by the tokenizer (reading) and the writer (padding).
 */

/** Widths of ISA01 … ISA16. */
export const ISA_WIDTHS: readonly number[] = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1];

/** Offset of the separator that precedes ISA(k+1), for k = 0 … 15. */
export const ISA_SEPARATOR_OFFSETS: readonly number[] = (() => {
  const offsets: number[] = [];
  let at = 3;
  for (const w of ISA_WIDTHS) {
    offsets.push(at);
    at += 1 + w;
  }
  return offsets;
})();

/** Characters before the segment terminator. */
export const ISA_BODY_LENGTH = 105;
