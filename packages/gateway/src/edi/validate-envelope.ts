/**
 * Strict X12 envelope validation (ASC X12.5/X12.6: ISA/IEA, GS/GE, ST/SE). Implements issue 6 and the
 * SECURITY-CHECKLIST "EDI X12" items: ISA fields and their code lists, IEA01 = number of groups and
 * IEA02 = ISA13, GE01 = number of transaction sets and GE02 = GS06, SE01 = segments from ST to SE
 * inclusive and SE02 = ST02, control numbers unique inside the interchange, one version family
 * throughout (ISA12 00401 ↔ GS08 004010…, 00501 ↔ 005010…, ST03 = GS08 in 5010 and absent in 4010),
 * real dates and times. Threat: a file whose counts or numbers do not add up was truncated, spliced or
 * forged (OWASP API10); it is refused whole, with the envelope it failed in (EdiError.context) so that
 * the caller can still reject that group in a 997. Duplicate ISA13 across files (interchange replay) is
 * the caller's check: `Interchange.interchangeControlNumber` is what it records.
 */
import { type EdiContext, EdiError } from './errors.ts';
import { parseDate, parseTime } from './internal/datetime.ts';
import { code, loc, required, shaped, value } from './internal/elements.ts';
import type { FunctionalGroup, Interchange, Segment, Tokens, TransactionSet, X12Version } from './types.ts';

/** Functional identifier (GS01) of each transaction set this codec knows. */
export const FUNCTIONAL_IDS: Readonly<Record<string, string>> = {
  '204': 'SM',
  '990': 'GF',
  '214': 'QM',
  '997': 'FA',
};
const SET_IDS = Object.keys(FUNCTIONAL_IDS);
const GROUP_IDS = Object.values(FUNCTIONAL_IDS);
const ID_QUALIFIERS = [
  '01',
  '02',
  '03',
  '04',
  '07',
  '08',
  '09',
  '10',
  '11',
  '12',
  '13',
  '14',
  '15',
  '16',
  '17',
  '18',
  '19',
  '20',
  '21',
  '22',
  '23',
  '24',
  '25',
  '26',
  '27',
  '28',
  '29',
  '30',
  '31',
  '32',
  '33',
  '34',
  'NR',
  'SA',
  'SN',
  'ZZ',
];
const CONTROL_9 = /^\d{9}$/;
const GROUP_CONTROL = /^\d{1,9}$/;
const SET_CONTROL = /^[A-Za-z0-9]{4,9}$/;
const APP_CODE = /^[^\s].{0,14}$/;

/** Checks the envelope of tokenized X12 and returns the interchange it describes. */
export function validateInterchange(tokens: Tokens): Interchange {
  const segs = tokens.segments;
  const isa = segs[0] as Segment;
  const version = readIsaVersion(isa);
  const controlNumber = shaped(isa, 13, CONTROL_9, true, 'ISA13');
  code(isa, 1, ['00', '03'], true);
  code(isa, 3, ['00', '01'], true);
  code(isa, 5, ID_QUALIFIERS, true);
  code(isa, 7, ID_QUALIFIERS, true);
  required(isa, 6);
  required(isa, 8);
  parseDate(value(isa, 9), loc(isa, 9), 6);
  parseTime(value(isa, 10), loc(isa, 10), 4);
  if (version === '4010') code(isa, 11, ['U'], true);
  const ack = code(isa, 14, ['0', '1'], true);
  const usage = code(isa, 15, ['P', 'T'], true);

  const groups: FunctionalGroup[] = [];
  const groupNumbers = new Set<string>();
  let k = 1;
  for (;;) {
    const seg = segs[k];
    if (seg === undefined) throw new EdiError('EDI_MISSING_SEGMENT', 'the IEA trailer is missing');
    if (seg.id === 'GS') {
      const [group, next] = readGroup(segs, k, version);
      if (groupNumbers.has(group.controlNumber)) {
        throw new EdiError('EDI_DUPLICATE_CONTROL_NUMBER', 'a group control number repeats', loc(seg, 6));
      }
      groupNumbers.add(group.controlNumber);
      groups.push(group);
      k = next;
      continue;
    }
    if (seg.id !== 'IEA') {
      throw new EdiError('EDI_UNEXPECTED_SEGMENT', 'only GS or IEA may follow at this level', loc(seg));
    }
    const count = shaped(seg, 1, /^\d{1,5}$/, true, 'IEA01');
    if (Number(count) !== groups.length) {
      throw new EdiError('EDI_CONTROL_COUNT_MISMATCH', 'IEA01 is not the number of groups', loc(seg, 1));
    }
    if (required(seg, 2) !== controlNumber) {
      throw new EdiError('EDI_CONTROL_NUMBER_MISMATCH', 'IEA02 is not ISA13', loc(seg, 2));
    }
    const after = segs[k + 1];
    if (after !== undefined) {
      throw new EdiError('EDI_TRAILING_DATA', 'segments follow the IEA trailer', loc(after));
    }
    break;
  }

  return {
    version,
    delimiters: tokens.delimiters,
    sender: { qualifier: value(isa, 5), id: value(isa, 6).trimEnd() },
    receiver: { qualifier: value(isa, 7), id: value(isa, 8).trimEnd() },
    date: value(isa, 9),
    time: value(isa, 10),
    interchangeControlNumber: controlNumber,
    acknowledgmentRequested: ack === '1',
    test: usage === 'T',
    groups,
    hadBom: tokens.hadBom,
    unwrapped: tokens.unwrapped,
  };
}

function readIsaVersion(isa: Segment): X12Version {
  const v = value(isa, 12);
  if (v === '00401') return '4010';
  if (v === '00501') return '5010';
  throw new EdiError('EDI_VERSION_UNSUPPORTED', 'ISA12 is neither 00401 nor 00501', loc(isa, 12));
}

function groupFamily(gs: Segment): X12Version {
  const v = required(gs, 8);
  if (/^004010[A-Z0-9]{0,6}$/.test(v)) return '4010';
  if (/^005010[A-Z0-9]{0,6}$/.test(v)) return '5010';
  throw new EdiError('EDI_VERSION_UNSUPPORTED', 'GS08 is neither 004010 nor 005010', loc(gs, 8));
}

function readGroup(segs: readonly Segment[], start: number, version: X12Version): [FunctionalGroup, number] {
  const gs = segs[start] as Segment;
  const context: EdiContext = {};
  try {
    const controlNumber = shaped(gs, 6, GROUP_CONTROL, true, 'GS06');
    context.groupControlNumber = controlNumber;
    const functionalId = code(gs, 1, GROUP_IDS, true) as string;
    context.functionalId = functionalId;
    context.groupVersion = value(gs, 8);
    const applicationSender = shaped(gs, 2, APP_CODE, true, 'GS02');
    const applicationReceiver = shaped(gs, 3, APP_CODE, true, 'GS03');
    parseDate(required(gs, 4), loc(gs, 4));
    parseTime(required(gs, 5), loc(gs, 5));
    code(gs, 7, ['X'], true);
    if (groupFamily(gs) !== version) {
      throw new EdiError('EDI_VERSION_MISMATCH', 'GS08 is not of the ISA12 version family', loc(gs, 8));
    }
    const sets: TransactionSet[] = [];
    const setNumbers = new Set<string>();
    let k = start + 1;
    for (;;) {
      const seg = segs[k];
      if (seg === undefined || seg.id === 'IEA' || seg.id === 'GS' || seg.id === 'ISA') {
        throw new EdiError('EDI_MISSING_SEGMENT', 'the GE trailer is missing', loc(gs));
      }
      if (seg.id === 'ST') {
        const set = readSet(segs, k, functionalId, version, value(gs, 8), context);
        if (setNumbers.has(set.controlNumber)) {
          throw new EdiError('EDI_DUPLICATE_CONTROL_NUMBER', 'a transaction set control number repeats', {
            ...loc(seg, 2),
            segmentInSet: 1,
          });
        }
        setNumbers.add(set.controlNumber);
        sets.push(set);
        k += set.body.length + 2;
        continue;
      }
      if (seg.id !== 'GE') {
        throw new EdiError('EDI_UNEXPECTED_SEGMENT', 'only ST or GE may follow inside a group', loc(seg));
      }
      const count = shaped(seg, 1, /^\d{1,6}$/, true, 'GE01');
      if (Number(count) !== sets.length) {
        throw new EdiError(
          'EDI_CONTROL_COUNT_MISMATCH',
          'GE01 is not the number of transaction sets',
          loc(seg, 1),
        );
      }
      if (required(seg, 2) !== controlNumber) {
        throw new EdiError('EDI_CONTROL_NUMBER_MISMATCH', 'GE02 is not GS06', loc(seg, 2));
      }
      const group: FunctionalGroup = {
        functionalId,
        applicationSender,
        applicationReceiver,
        date: value(gs, 4),
        time: value(gs, 5),
        controlNumber,
        versionCode: value(gs, 8),
        transactionSets: sets,
        position: gs.position,
      };
      return [group, k + 1];
    }
  } catch (e) {
    throw e instanceof EdiError ? e.within(context) : e;
  }
}

function readSet(
  segs: readonly Segment[],
  start: number,
  functionalId: string,
  version: X12Version,
  gs08: string,
  context: EdiContext,
): TransactionSet {
  const st = segs[start] as Segment;
  const setContext: EdiContext = { ...context };
  try {
    const controlNumber = shaped(st, 2, SET_CONTROL, true, 'ST02');
    setContext.transactionSetControlNumber = controlNumber;
    const id = code(st, 1, SET_IDS, true) as string;
    setContext.transactionSetId = id;
    if (FUNCTIONAL_IDS[id] !== functionalId) {
      throw new EdiError('EDI_INVALID_ELEMENT', 'ST01 does not belong to the group of GS01', loc(st, 1));
    }
    const st03 = value(st, 3);
    if (version === '4010' && st03 !== '') {
      throw new EdiError('EDI_VERSION_MISMATCH', 'ST03 is a 5010 element in a 4010 set', loc(st, 3));
    }
    if (version === '5010' && st03 !== '' && st03 !== gs08) {
      throw new EdiError('EDI_VERSION_MISMATCH', 'ST03 is not GS08', loc(st, 3));
    }
    let k = start + 1;
    for (;;) {
      const seg = segs[k];
      if (seg === undefined || ['ST', 'GE', 'GS', 'IEA', 'ISA'].includes(seg.id)) {
        throw new EdiError('EDI_MISSING_SEGMENT', 'the SE trailer is missing', {
          ...loc(st),
          segmentInSet: 1,
        });
      }
      if (seg.id === 'SE') break;
      k += 1;
    }
    const se = segs[k] as Segment;
    const seAt = (n: number) => ({ ...loc(se, n), segmentInSet: k - start + 1 });
    const count = value(se, 1);
    if (!/^\d{1,10}$/.test(count) || Number(count) !== k - start + 1) {
      throw new EdiError(
        'EDI_CONTROL_COUNT_MISMATCH',
        'SE01 is not the number of segments from ST to SE',
        seAt(1),
      );
    }
    if (value(se, 2) !== controlNumber) {
      throw new EdiError('EDI_CONTROL_NUMBER_MISMATCH', 'SE02 is not ST02', seAt(2));
    }
    return {
      id,
      controlNumber,
      implementationReference: st03 === '' ? undefined : st03,
      body: segs.slice(start + 1, k),
      position: st.position,
    };
  } catch (e) {
    throw e instanceof EdiError ? e.within(setContext) : e;
  }
}
