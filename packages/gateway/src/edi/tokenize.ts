/**
 * A tolerant X12 tokenizer (ASC X12.6 §3: delimiters are declared by the ISA, not fixed). Implements
 * issue 6 / SECURITY-CHECKLIST "EDI X12". Threat: attacker-controlled bytes (OWASP API4, API10) — huge
 * files, 100,000 segments, binary garbage, delimiters chosen to make data ambiguous. Tolerated, because
 * real partners send them: a UTF-8 byte-order mark, white space before the ISA, a line break after each
 * terminator, lines wrapped at a fixed width (line breaks inside segments when the terminator is not a
 * line break, including inside the ISA), LF/CRLF/CR as terminators, trailing white space. Refused with a
 * coded error: everything else. A delimiter can never appear inside data, because data is what lies
 * between delimiters; ambiguity is refused up front instead (delimiters that collide with each other, with
 * letters and digits, with white space, or line breaks that would both wrap and terminate).
 *
 * Bytes are read as latin1 (one byte, one character) so that structure is found on exact bytes; element
 * values with bytes ≥ 0x80 are then decoded as strict UTF-8 (5010's extended character set).
 */
import { EdiError } from './errors.ts';
import { hasControl } from './internal/elements.ts';
import { ISA_BODY_LENGTH, ISA_SEPARATOR_OFFSETS, ISA_WIDTHS } from './internal/isa-layout.ts';
import { DEFAULT_EDI_LIMITS, type EdiLimits } from './limits.ts';
import type { Delimiters, Segment, Tokens } from './types.ts';

const BOM = '\xEF\xBB\xBF';
const UTF8_ELLIPSIS = '\xE2\x80\xA6';
/** U+0085 (NEL, the "…" of Windows-1252 read as Unicode) written as UTF-8. */
const UTF8_NEL = '\xC2\x85';
const HIGH = /[\x80-\xFF]/;
const SEGMENT_ID = /^[A-Z][A-Z0-9]{1,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const isLineBreak = (c: string): boolean => c === '\n' || c === '\r';
const isBlank = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isAlnum = (c: string): boolean => /^[A-Za-z0-9]$/.test(c);

/** Splits X12 bytes into segments and elements using the delimiters its ISA declares. */
export function tokenizeX12(input: Uint8Array | string, limits: Partial<EdiLimits> = {}): Tokens {
  const lim: EdiLimits = { ...DEFAULT_EDI_LIMITS, ...limits };
  const text = toLatin1(input, lim.maxFileBytes);

  let i = 0;
  const hadBom = text.startsWith(BOM);
  if (hadBom) i = BOM.length;
  while (i < text.length && isBlank(text[i] as string)) i += 1;
  if (i >= text.length) throw new EdiError('EDI_EMPTY', 'the input holds no X12 data');
  if (text.slice(i, i + 3) !== 'ISA') throw new EdiError('EDI_NOT_X12', 'the input does not start with ISA');

  // The ISA: 105 characters, line breaks inside it skipped (a wrapped first line).
  let isa = '';
  let isaWrapped = false;
  let j = i;
  while (isa.length < ISA_BODY_LENGTH && j < text.length) {
    const c = text[j] as string;
    if (isLineBreak(c)) isaWrapped = true;
    else isa += c;
    j += 1;
  }
  const at = { segment: 1, segmentId: 'ISA' };
  if (isa.length < ISA_BODY_LENGTH || j >= text.length) {
    throw new EdiError('EDI_ISA_MALFORMED', 'the ISA is shorter than 106 characters', at);
  }
  const isaElements = splitIsa(isa, isa[3] as string);
  const delimiters = readDelimiters(text, j, isa, isaWrapped);

  const segments: Segment[] = [{ id: 'ISA', elements: isaElements, position: 1 }];
  const body = text.slice(j + delimiters.segment.length);
  const newlineTerminated = isLineBreak(delimiters.segment[0] as string);
  let unwrapped = isaWrapped;
  const pieces = newlineTerminated
    ? splitLines(body, lim.maxSegments - 1)
    : splitOn(body, delimiters.segment, lim.maxSegments - 1, () => {
        unwrapped = true;
      });
  for (const piece of pieces) {
    segments.push(readSegment(piece, segments.length + 1, delimiters, lim));
  }
  return { delimiters, segments, hadBom, unwrapped };
}

function toLatin1(input: Uint8Array | string, maxBytes: number): string {
  if (typeof input === 'string') {
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes) throw tooLarge(maxBytes);
    return Buffer.from(input, 'utf8').toString('latin1');
  }
  if (input.byteLength > maxBytes) throw tooLarge(maxBytes);
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
}

const tooLarge = (max: number): EdiError =>
  new EdiError('EDI_TOO_LARGE', `the input exceeds the limit of ${max} bytes`);

function readDelimiters(text: string, j: number, isa: string, isaWrapped: boolean): Delimiters {
  const at = { segment: 1, segmentId: 'ISA' };
  const element = isa[3] as string;
  const component = isa[ISA_BODY_LENGTH - 1] as string;
  const c = text[j] as string;
  let segment = c;
  if (c === '\r' && text[j + 1] === '\n') segment = '\r\n';
  else if (text.startsWith(UTF8_ELLIPSIS, j)) segment = UTF8_ELLIPSIS;
  else if (text.startsWith(UTF8_NEL, j)) segment = UTF8_NEL;
  const version = isa.slice(ISA_SEPARATOR_OFFSETS[11] as number).slice(1, 6);
  const isa11 = isa[(ISA_SEPARATOR_OFFSETS[10] as number) + 1] as string;
  const repetition = version >= '00501' ? isa11 : undefined;

  const ambiguous = (why: string, element?: number): EdiError =>
    new EdiError('EDI_DELIMITERS_AMBIGUOUS', why, element === undefined ? at : { ...at, element });
  if (isLineBreak(segment[0] as string) && isaWrapped) {
    throw ambiguous('line breaks both wrap the ISA and terminate segments');
  }
  for (const [what, d, el] of [
    ['element separator', element, undefined],
    ['component separator', component, 16],
    ['segment terminator', segment, undefined],
    ['repetition separator', repetition, 11],
  ] as const) {
    if (d === undefined) continue;
    if (d.length === 1 && (isAlnum(d) || d === ' ' || d === '\t')) {
      throw ambiguous(`the ${what} is a letter, digit or space`, el);
    }
    if (what !== 'segment terminator' && (isLineBreak(d) || d === '\0')) {
      throw ambiguous(`the ${what} is a line break or NUL`, el);
    }
  }
  const singles = [element, component, repetition, segment.length === 1 ? segment : undefined].filter(
    (d): d is string => d !== undefined,
  );
  if (new Set(singles).size !== singles.length) throw ambiguous('two delimiters are the same character');
  if (segment.length > 1 && singles.some((d) => segment.includes(d))) {
    throw ambiguous('a delimiter is part of the segment terminator');
  }
  return { element, component, repetition, segment };
}

function splitIsa(isa: string, sep: string): string[] {
  const elements: string[] = [];
  for (let k = 0; k < ISA_WIDTHS.length; k += 1) {
    const offset = ISA_SEPARATOR_OFFSETS[k] as number;
    if (isa[offset] !== sep) {
      throw new EdiError('EDI_ISA_MALFORMED', 'the ISA is not 106 characters of fixed-width fields', {
        segment: 1,
        segmentId: 'ISA',
        element: k + 1,
      });
    }
    const value = isa.slice(offset + 1, offset + 1 + (ISA_WIDTHS[k] as number));
    // ISA16 is the component separator, which may be any non-data character (0x1F is common).
    if (value.includes(sep) || (k < 15 && (hasControl(value) || HIGH.test(value)))) {
      throw new EdiError('EDI_ISA_MALFORMED', 'an ISA field holds a separator or a control character', {
        segment: 1,
        segmentId: 'ISA',
        element: k + 1,
      });
    }
    elements.push(value);
  }
  return elements;
}

/** Newline-terminated files: one segment a line; CRLF, LF and CR all end a line; blank lines skipped. */
function splitLines(body: string, max: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (let k = 0; k <= body.length; k += 1) {
    const c = body[k];
    if (c !== undefined && !isLineBreak(c)) continue;
    const piece = body.slice(start, k).trim();
    start = k + 1;
    if (piece.length === 0) continue;
    if (out.length >= max) throw tooMany(max + 1);
    out.push(piece);
  }
  return out;
}

/** Other terminators: line breaks anywhere are wrapping and are removed; pieces are trimmed. */
function splitOn(body: string, terminator: string, max: number, sawWrap: () => void): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(terminator, start);
    if (end < 0) end = body.length;
    let piece = body.slice(start, end);
    start = end + terminator.length;
    if (piece.includes('\n') || piece.includes('\r')) {
      const trimmedStart = piece.replace(/^[\r\n \t]+/, '');
      if (/[\r\n]/.test(trimmedStart.replace(/[\r\n \t]+$/, ''))) sawWrap();
      piece = piece.replace(/[\r\n]/g, '');
    }
    piece = piece.trim();
    if (piece.length === 0) continue;
    if (out.length >= max) throw tooMany(max + 1);
    out.push(piece);
  }
  return out;
}

const tooMany = (max: number): EdiError =>
  new EdiError('EDI_TOO_MANY_SEGMENTS', `the interchange has more than ${max} segments`);

function readSegment(piece: string, position: number, d: Delimiters, lim: EdiLimits): Segment {
  const parts = piece.split(d.element);
  const id = parts[0] as string;
  if (!SEGMENT_ID.test(id)) {
    throw new EdiError('EDI_SEGMENT_SYNTAX', 'a segment identifier is not 2–3 letters and digits', {
      segment: position,
    });
  }
  if (parts.length - 1 > lim.maxElementsPerSegment) {
    throw new EdiError('EDI_ELEMENT_TOO_LONG', 'the segment has too many elements', {
      segment: position,
      segmentId: id,
    });
  }
  const elements: string[] = [];
  for (let k = 1; k < parts.length; k += 1) {
    const raw = parts[k] as string;
    const at = { segment: position, segmentId: id, element: k };
    if (raw.length > lim.maxElementChars) {
      throw new EdiError('EDI_ELEMENT_TOO_LONG', `the element exceeds ${lim.maxElementChars} characters`, at);
    }
    if (hasControl(raw)) throw new EdiError('EDI_INVALID_CHARACTER', 'a control character in data', at);
    elements.push(HIGH.test(raw) ? decodeUtf8(raw, at) : raw);
  }
  return { id, elements, position };
}

function decodeUtf8(raw: string, at: { segment: number; segmentId: string; element: number }): string {
  try {
    return utf8.decode(Buffer.from(raw, 'latin1'));
  } catch (cause) {
    throw new EdiError('EDI_INVALID_CHARACTER', 'bytes that are not UTF-8 in data', at, { cause });
  }
}
