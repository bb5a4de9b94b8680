/** The tolerant tokenizer: fixtures, every terminator, BOM, wrapping, ambiguity and the limits. */
import { describe, expect, it } from 'vitest';
import { EdiError } from '../../src/edi/errors.ts';
import { tokenizeX12 } from '../../src/edi/tokenize.ts';
import { fixture, isaSegment, x12 } from './support.ts';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof EdiError) return e.code;
    throw e;
  }
  return 'no error';
};

describe('tokenizeX12', () => {
  it.each([
    ['204-4010-tilde-newline.edi', '~', '*'],
    ['204-4010-lf.edi', '\n', '|'],
    ['204-5010-bom-wrapped.edi', '~', '*'],
    ['204-5010-crlf-hazmat.edi', '\r\n', '*'],
    ['204-4010-gs-byte.edi', '\x1d', '*'],
    ['204-5010-ellipsis.edi', '\x85', '*'],
  ])('reads %s with its declared delimiters', (name, segment, element) => {
    const t = tokenizeX12(fixture(name));
    expect(t.delimiters.segment).toBe(segment);
    expect(t.delimiters.element).toBe(element);
    expect(t.segments[0]?.id).toBe('ISA');
    expect(t.segments.at(-1)?.id).toBe('IEA');
    expect(t.segments.map((s) => s.id)).toContain('S5');
  });

  it('removes a BOM and joins lines wrapped at 80 columns, inside the ISA and inside UTF-8 text', () => {
    const t = tokenizeX12(fixture('204-5010-bom-wrapped.edi'));
    expect(t.hadBom).toBe(true);
    expect(t.unwrapped).toBe(true);
    expect(t.delimiters.repetition).toBe('^');
    expect(t.delimiters.component).toBe(':');
    const names = t.segments.filter((s) => s.id === 'N1').map((s) => s.elements[1]);
    expect(names).toContain('Frío Foods Fort Worth');
    for (const s of t.segments) for (const e of s.elements) expect(e).not.toMatch(/[\r\n]/);
  });

  it('reads the UTF-8 ellipsis and UTF-8 NEL as multi-byte terminators', () => {
    expect(tokenizeX12(x12(undefined, { term: '\u0085', after: '' })).delimiters.segment).toBe('\xC2\x85');
    const text = x12(undefined, { term: '…', after: '' });
    const t = tokenizeX12(text);
    expect(t.delimiters.segment).toBe('\xE2\x80\xA6');
    expect(t.segments.at(-1)?.elements).toEqual(['1', '000000101']);
  });

  it('tolerates CR-only line ends, blank lines, trailing white space and white space before the ISA', () => {
    const raw = x12(undefined, { term: '\r', after: '' });
    const text = `\n\n  ${raw.slice(0, 107)}${raw.slice(107).replaceAll('\r', '   \r\r')}`;
    const t = tokenizeX12(text);
    expect(t.delimiters.segment).toBe('\r');
    expect(t.segments.find((s) => s.id === 'B2')?.elements[3]).toBe('SH-1');
  });

  it('reads an ISA split over lines when the terminator is not a line break', () => {
    const text = x12();
    const split = `${text.slice(0, 50)}\r\n${text.slice(50, 90)}\n${text.slice(90)}`;
    expect(tokenizeX12(split).segments[0]?.elements[12]).toBe('000000101');
  });

  it('refuses an ISA split over lines when line breaks also terminate segments', () => {
    const text = x12(undefined, { term: '\n', after: '' });
    expect(code(() => tokenizeX12(`${text.slice(0, 50)}\n${text.slice(50)}`))).toBe(
      'EDI_DELIMITERS_AMBIGUOUS',
    );
  });

  it('refuses an ISA that is not 106 characters', () => {
    const short = x12().replace('ACMETMS        ', 'ACMETMS       ');
    const long = x12().replace('ACMETMS        ', 'ACMETMS         ');
    expect(code(() => tokenizeX12(short))).toBe('EDI_ISA_MALFORMED');
    expect(code(() => tokenizeX12(long))).toBe('EDI_ISA_MALFORMED');
    expect(code(() => tokenizeX12(isaSegment().slice(0, 90)))).toBe('EDI_ISA_MALFORMED');
    expect(code(() => tokenizeX12(isaSegment()))).toBe('EDI_ISA_MALFORMED');
  });

  it.each([
    ['a letter as element separator', { sep: 'X' }],
    ['a digit as component separator', { comp: '1' }],
    ['a space as terminator', { term: ' ', after: '' }],
    ['the element separator as component separator', { comp: '*' }],
    ['the terminator as component separator', { comp: '~' }],
    ['the repetition separator equal to the element separator (5010)', { version: '5010', rep: '*' }],
    ['a letter as repetition separator (5010)', { version: '5010', rep: 'U' }],
    ['a line break as component separator', { comp: '\n' }],
  ] as const)('refuses ambiguous delimiters: %s', (_, o) => {
    expect(code(() => tokenizeX12(x12(undefined, o)))).toMatch(/EDI_DELIMITERS_AMBIGUOUS|EDI_ISA_MALFORMED/);
  });

  it('refuses empty input, input that is not X12 and binary garbage', () => {
    expect(code(() => tokenizeX12(''))).toBe('EDI_EMPTY');
    expect(code(() => tokenizeX12(new Uint8Array([0xef, 0xbb, 0xbf, 0x20, 0x0a])))).toBe('EDI_EMPTY');
    expect(code(() => tokenizeX12('{"reference":"PO-1"}'))).toBe('EDI_NOT_X12');
    expect(code(() => tokenizeX12(new Uint8Array([0x00, 0xff, 0x13, 0x37])))).toBe('EDI_NOT_X12');
    const garbage = Buffer.concat([Buffer.from(x12().slice(0, 200)), Buffer.from([0x00, 0x01, 0xfe, 0x7e])]);
    expect(code(() => tokenizeX12(garbage))).toMatch(/EDI_INVALID_CHARACTER|EDI_SEGMENT_SYNTAX/);
    const badUtf8 = x12().replace('ACME*93*D1', 'AC\xffME*93*D1');
    expect(code(() => tokenizeX12(Buffer.from(badUtf8, 'latin1')))).toBe('EDI_INVALID_CHARACTER');
  });

  it('refuses a malformed segment identifier', () => {
    expect(code(() => tokenizeX12(x12([['b2', '', 'X']])))).toBe('EDI_SEGMENT_SYNTAX');
    expect(code(() => tokenizeX12(x12([['B2X4', '']])))).toBe('EDI_SEGMENT_SYNTAX');
  });

  it('refuses a file over the size limit before reading it', () => {
    expect(code(() => tokenizeX12(new Uint8Array(11 * 1024 * 1024)))).toBe('EDI_TOO_LARGE');
    expect(code(() => tokenizeX12(x12(), { maxFileBytes: 100 }))).toBe('EDI_TOO_LARGE');
  });

  it('refuses 100,000 segments, counting only up to the limit', () => {
    const body = Array.from({ length: 100_000 }, () => ['NTE', '', 'x']);
    const text = x12(body);
    expect(Buffer.byteLength(text)).toBeLessThan(10 * 1024 * 1024);
    expect(code(() => tokenizeX12(text))).toBe('EDI_TOO_MANY_SEGMENTS');
    expect(tokenizeX12(text, { maxSegments: 100_010 }).segments).toHaveLength(100_006);
  });

  it('refuses an element over the length limit and a segment with too many elements', () => {
    expect(code(() => tokenizeX12(x12([['NTE', '', 'x'.repeat(265)]])))).toBe('EDI_ELEMENT_TOO_LONG');
    expect(code(() => tokenizeX12(x12([['NTE', ...Array(65).fill('a')]])))).toBe('EDI_ELEMENT_TOO_LONG');
  });

  it('names the segment position and element in its errors', () => {
    try {
      tokenizeX12(x12([['B2', '', 'F\u0001GAT']]));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EdiError);
      expect((e as EdiError).location).toEqual({ segment: 4, segmentId: 'B2', element: 2 });
      expect((e as EdiError).message).toMatch(/segment B2, at position 4, element 02/);
    }
  });
});
