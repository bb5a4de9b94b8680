/** Strict envelope validation: every control count and number, versions, dates, usage indicator. */
import { describe, expect, it } from 'vitest';
import { EdiError } from '../../src/edi/errors.ts';
import { parseInterchange } from '../../src/edi/parse-interchange.ts';
import { DRY_VAN_204, fixture, x12 } from './support.ts';

function failure(input: string | Uint8Array): EdiError {
  try {
    parseInterchange(input);
  } catch (e) {
    if (e instanceof EdiError) return e;
    throw e;
  }
  throw new Error('expected an EdiError');
}

describe('validateInterchange', () => {
  it.each([
    '204-4010-tilde-newline.edi',
    '204-4010-lf.edi',
    '204-5010-bom-wrapped.edi',
    '204-5010-crlf-hazmat.edi',
    '204-4010-gs-byte.edi',
    '204-5010-ellipsis.edi',
  ])('accepts %s', (name) => {
    const i = parseInterchange(fixture(name));
    expect(i.interchangeControlNumber).toBe('000000101');
    expect(i.version).toBe(name.includes('5010') ? '5010' : '4010');
    expect(i.sender).toEqual({ qualifier: 'ZZ', id: 'ACMETMS' });
    expect(i.groups).toHaveLength(1);
    expect(i.groups[0]?.transactionSets[0]?.id).toBe('204');
    expect(i.test).toBe(false);
  });

  it('flags ISA15=T as a test interchange', () => {
    expect(parseInterchange(x12(undefined, { usage: 'T' })).test).toBe(true);
    expect(failure(x12(undefined, { usage: 'X' as 'T' })).code).toBe('EDI_UNKNOWN_CODE');
  });

  it.each([
    ['SE01 wrong', { se01: '5' }, 'EDI_CONTROL_COUNT_MISMATCH', 'SE', 1],
    ['SE01 not a number', { se01: 'X' }, 'EDI_CONTROL_COUNT_MISMATCH', 'SE', 1],
    ['ST02 ≠ SE02', { se02: '0002' }, 'EDI_CONTROL_NUMBER_MISMATCH', 'SE', 2],
    ['GE01 wrong', { ge01: '2' }, 'EDI_CONTROL_COUNT_MISMATCH', 'GE', 1],
    ['GE02 ≠ GS06', { ge02: '102' }, 'EDI_CONTROL_NUMBER_MISMATCH', 'GE', 2],
    ['IEA01 wrong', { iea01: '0' }, 'EDI_CONTROL_COUNT_MISMATCH', 'IEA', 1],
    ['IEA02 ≠ ISA13', { iea02: '000000102' }, 'EDI_CONTROL_NUMBER_MISMATCH', 'IEA', 2],
  ] as const)('refuses %s, naming segment and element', (_, o, code, segmentId, element) => {
    const e = failure(x12(undefined, o));
    expect(e.code).toBe(code);
    expect(e.location.segmentId).toBe(segmentId);
    expect(e.location.element).toBe(element);
    expect(e.location.segment).toBeGreaterThan(1);
  });

  it('keeps the group and set an envelope failure happened in, for the 997', () => {
    const e = failure(x12(undefined, { se01: '99' }));
    expect(e.context).toEqual({
      functionalId: 'SM',
      groupControlNumber: '101',
      groupVersion: '004010',
      transactionSetId: '204',
      transactionSetControlNumber: '0001',
    });
    expect(e.location.segmentInSet).toBe(DRY_VAN_204.length + 2);
  });

  it.each([
    ['GS08 5010 in a 4010 interchange', { gs08: '005010' }, 'EDI_VERSION_MISMATCH'],
    ['GS08 4010 in a 5010 interchange', { version: '5010', gs08: '004010' }, 'EDI_VERSION_MISMATCH'],
    ['ST03 in a 4010 set', { st03: '004010' }, 'EDI_VERSION_MISMATCH'],
    ['ST03 ≠ GS08 in 5010', { version: '5010', st03: '004010' }, 'EDI_VERSION_MISMATCH'],
    ['GS08 of another version', { gs08: '003040' }, 'EDI_VERSION_UNSUPPORTED'],
  ] as const)('refuses 4010/5010 mixes: %s', (_, o, code) => {
    expect(failure(x12(undefined, o)).code).toBe(code);
  });

  it('accepts ST03 = GS08 in 5010 and refuses ISA12 of another version', () => {
    const i = parseInterchange(x12(undefined, { version: '5010', st03: '005010' }));
    expect(i.groups[0]?.transactionSets[0]?.implementationReference).toBe('005010');
    expect(failure(x12().replace('*00401*', '*00306*')).code).toBe('EDI_VERSION_UNSUPPORTED');
  });

  it('refuses impossible dates and times in the envelope', () => {
    expect(failure(x12().replace('*20261130*', '*20230230*')).code).toBe('EDI_INVALID_DATE');
    expect(failure(x12().replace('*261130*', '*230230*')).code).toBe('EDI_INVALID_DATE');
    expect(failure(x12().replace('*1405*101*', '*2460*101*')).code).toBe('EDI_INVALID_TIME');
  });

  it('refuses a set of another group, an unknown set, a missing trailer, trailing data', () => {
    expect(failure(x12(undefined, { setId: '990' })).code).toBe('EDI_INVALID_ELEMENT');
    expect(failure(x12(undefined, { setId: '810', functionalId: 'IN' })).code).toBe('EDI_UNKNOWN_CODE');
    const text = x12();
    expect(failure(text.replace(/SE\*[^~]*~\n/, '')).code).toBe('EDI_MISSING_SEGMENT');
    expect(failure(text.replace(/GE\*[^~]*~\n/, '')).code).toBe('EDI_MISSING_SEGMENT');
    expect(failure(text.replace(/IEA\*[^~]*~\n/, '')).code).toBe('EDI_MISSING_SEGMENT');
    expect(failure(`${text}${text}`).code).toBe('EDI_TRAILING_DATA');
    expect(failure(text.replace('GS*', 'TA1*000000101*261130*1405*A*000~\nGS*')).code).toBe(
      'EDI_UNEXPECTED_SEGMENT',
    );
  });

  it('refuses a repeated transaction set control number inside a group', () => {
    const text = x12();
    const set = text.slice(text.indexOf('ST*'), text.indexOf('GE*'));
    const twice = text.replace(set, set + set).replace('GE*1*', 'GE*2*');
    expect(failure(twice).code).toBe('EDI_DUPLICATE_CONTROL_NUMBER');
    const distinct = twice.replace(set + set, set + set.replaceAll('*0001~', '*0002~'));
    expect(parseInterchange(distinct).groups[0]?.transactionSets.map((s) => s.controlNumber)).toEqual([
      '0001',
      '0002',
    ]);
  });

  it('refuses ISA fields outside their code lists', () => {
    expect(failure(x12().replace('ISA*00*', 'ISA*07*')).code).toBe('EDI_UNKNOWN_CODE');
    expect(failure(x12().replace('*ZZ*ACMETMS', '*QQ*ACMETMS')).code).toBe('EDI_UNKNOWN_CODE');
    expect(failure(x12().replace('*000000101*0*', '*00000010A*0*')).code).toBe('EDI_INVALID_ELEMENT');
    expect(failure(x12().replace('*U*00401*', '*^*00401*')).code).toBe('EDI_UNKNOWN_CODE');
  });
});
