/**
 * Reads an X12 204 Motor Carrier Load Tender (4010 and 5010, truckload subset) into a typed LoadTender.
 * Threat: a partner's file drives what the fleet is asked to haul (OWASP API10, unsafe consumption):
 * the segment order is checked (heading, N1 and N7 loops, S5 stop loops, L3 summary), every segment that
 * a 204 may not hold is refused, every code we interpret is checked against a closed list
 * (internal/codes.ts), dates must exist, free text is bounded. Every failure is an EdiError carrying the
 * set's envelope and the segment's position inside the set, so the caller can reject it in a 997 (AK3/AK4).
 */
import { type EdiContext, EdiError } from './errors.ts';
import {
  DATE_QUALIFIERS,
  ENTITY_CODES,
  EQUIPMENT_CODES,
  PURPOSE_CODES,
  STOP_REASONS,
  TIME_QUALIFIERS,
  WEIGHT_QUALIFIERS,
  WEIGHT_UNITS,
} from './internal/codes.ts';
import { isTimeCode, parseDate, parseTime } from './internal/datetime.ts';
import { code, decimal, freeText, loc, required, shaped, value } from './internal/elements.ts';
import { DEFAULT_EDI_LIMITS, type EdiLimits } from './limits.ts';
import type { DateTimeSpec, LoadTender, Party, Reference, Stop, Weight } from './load-tender.ts';
import type { FunctionalGroup, Interchange, Segment, TransactionSet, X12Version } from './types.ts';

const HAZMAT_SEGMENTS = new Set(['LH1', 'LH2', 'LH3', 'LFH', 'LEP', 'LH4', 'LHT', 'LHR', 'LH6']);
const HEADING = new Set(['L11', 'G62', 'MS3', 'AT5', 'PLD', 'LH6', 'NTE']);
const PARTY_DETAIL = new Set(['N2', 'N3', 'N4', 'G61']);
const EQUIPMENT_DETAIL = new Set(['N7A', 'N7B', 'MEA', 'M7']);
const STOP_DETAIL = new Set(['L11', 'G62', 'AT8', 'LAD', 'AT5', 'PLD', 'NTE', 'OID', 'L5', 'SPO', 'SDQ']);
const CODE_2_3 = /^[A-Z0-9]{1,3}$/;

/** Every 204 in an interchange, in order. */
export function readLoadTenders(interchange: Interchange, limits: Partial<EdiLimits> = {}): LoadTender[] {
  const out: LoadTender[] = [];
  for (const group of interchange.groups) {
    for (const set of group.transactionSets) {
      if (set.id === '204') out.push(parseLoadTender(set, group, interchange.version, limits));
    }
  }
  return out;
}

/** One 204 transaction set (already envelope-checked by validateInterchange) as a LoadTender. */
export function parseLoadTender(
  set: TransactionSet,
  group: Pick<FunctionalGroup, 'functionalId' | 'controlNumber' | 'versionCode'>,
  version: X12Version,
  limits: Partial<EdiLimits> = {},
): LoadTender {
  const context: EdiContext = {
    functionalId: group.functionalId,
    groupControlNumber: group.controlNumber,
    groupVersion: group.versionCode,
    transactionSetId: set.id,
    transactionSetControlNumber: set.controlNumber,
  };
  try {
    if (set.id !== '204') throw new EdiError('EDI_INVALID_ARGUMENT', 'not a 204 transaction set');
    return new Reader(set, version, { ...DEFAULT_EDI_LIMITS, ...limits }).read();
  } catch (e) {
    if (!(e instanceof EdiError)) throw e;
    const l = e.location;
    throw e.within(context, l.segment === undefined ? {} : { segmentInSet: l.segment - set.position + 1 });
  }
}

class Reader {
  readonly set: TransactionSet;
  readonly version: X12Version;
  readonly limits: EdiLimits;
  k = 0;

  constructor(set: TransactionSet, version: X12Version, limits: EdiLimits) {
    this.set = set;
    this.version = version;
    this.limits = limits;
  }

  peek(): Segment | undefined {
    return this.set.body[this.k];
  }

  expect(id: string): Segment {
    const seg = this.peek();
    if (seg?.id !== id) {
      const at = seg === undefined ? {} : loc(seg);
      throw new EdiError('EDI_MISSING_SEGMENT', `the 204 lacks its mandatory ${id}`, at);
    }
    this.k += 1;
    return seg;
  }

  read(): LoadTender {
    const b2 = this.expect('B2');
    const b2a = this.expect('B2A');
    const tender: LoadTender = {
      version: this.version,
      transactionSetControlNumber: this.set.controlNumber,
      shipmentId: shaped(b2, 4, /^\S.{0,29}$/, true, 'B204'),
      scac: shaped(b2, 2, /^[A-Z0-9]{2,4}$/, false, 'B202') || undefined,
      paymentMethod: shaped(b2, 6, /^[A-Z]{2}$/, false, 'B206') || undefined,
      purpose: PURPOSE_CODES[code(b2a, 1, Object.keys(PURPOSE_CODES), true) as keyof typeof PURPOSE_CODES],
      applicationType: shaped(b2a, 2, /^[A-Z0-9]{2}$/, false, 'B2A02') || undefined,
      references: [],
      respondBy: undefined,
      hazmat: false,
      specialHandling: [],
      notes: [],
      parties: [],
      equipment: [],
      stops: [],
      weight: undefined,
      rate: undefined,
    };
    for (let seg = this.peek(); seg !== undefined; seg = this.peek()) {
      this.k += 1;
      if (seg.id === 'S5') {
        tender.stops.push(this.stop(seg));
      } else if (seg.id === 'L3' && tender.stops.length > 0) {
        this.summary(seg, tender);
        const extra = this.peek();
        if (extra !== undefined) throw unexpected(extra, 'nothing may follow the L3 summary');
      } else if (tender.stops.length > 0) {
        throw unexpected(seg, 'only S5 loops and L3 may follow the first stop');
      } else if (seg.id === 'N1') {
        tender.parties.push(this.party(seg));
      } else if (seg.id === 'N7') {
        tender.equipment.push(this.equipment(seg));
      } else if (HEADING.has(seg.id) && tender.parties.length === 0 && tender.equipment.length === 0) {
        this.heading(seg, tender);
      } else {
        throw unexpected(seg, 'segment not allowed here in a 204');
      }
    }
    if (tender.stops.length === 0) throw new EdiError('EDI_MISSING_SEGMENT', 'the 204 has no S5 stop');
    tender.hazmat ||= tender.stops.some((s) => s.hazmat);
    return tender;
  }

  heading(seg: Segment, tender: LoadTender): void {
    if (seg.id === 'L11') tender.references.push(reference(seg));
    else if (seg.id === 'G62') {
      const d = dateTime(seg);
      if (d.qualifier !== '64') throw unknown(seg, 1);
      tender.respondBy = d;
    } else if (seg.id === 'AT5') {
      const handling = shaped(seg, 1, CODE_2_3, false, 'AT501');
      if (handling !== '') tender.specialHandling.push(handling);
      if (handling === 'HM') tender.hazmat = true;
    } else if (seg.id === 'LH6') tender.hazmat = true;
    else if (seg.id === 'NTE') tender.notes.push(this.note(seg));
  }

  note(seg: Segment): string {
    shaped(seg, 1, /^[A-Z0-9]{3}$/, false, 'NTE01');
    const text = freeText(seg, 2, this.limits.maxFreeTextChars);
    if (text === '') throw new EdiError('EDI_MISSING_ELEMENT', 'a mandatory element is empty', loc(seg, 2));
    return text;
  }

  party(n1: Segment): Party {
    const party: Party = {
      entity: code(n1, 1, ENTITY_CODES, true) as string,
      name: shaped(n1, 2, /^.{1,60}$/, false, 'N102'),
      idQualifier: shaped(n1, 3, /^[A-Z0-9]{1,2}$/, false, 'N103') || undefined,
      id: shaped(n1, 4, /^.{2,80}$/, false, 'N104') || undefined,
      street: [],
      city: undefined,
      state: undefined,
      postalCode: undefined,
      country: undefined,
    };
    if ((party.idQualifier === undefined) !== (party.id === undefined)) {
      throw new EdiError('EDI_MISSING_ELEMENT', 'N103 and N104 go together', loc(n1, 3));
    }
    let n3s = 0;
    for (let seg = this.peek(); seg !== undefined && PARTY_DETAIL.has(seg.id); seg = this.peek()) {
      this.k += 1;
      if (seg.id === 'N3') {
        n3s += 1;
        if (n3s > 2) throw unexpected(seg, 'more than two N3 in one N1 loop');
        party.street.push(shaped(seg, 1, /^.{1,55}$/, true, 'N301'));
        const second = shaped(seg, 2, /^.{1,55}$/, false, 'N302');
        if (second !== '') party.street.push(second);
      } else if (seg.id === 'N4') {
        if (party.city !== undefined) throw unexpected(seg, 'a second N4 in one N1 loop');
        party.city = shaped(seg, 1, /^.{2,30}$/, true, 'N401');
        party.state = shaped(seg, 2, /^[A-Z]{2}$/, false, 'N402') || undefined;
        party.postalCode = shaped(seg, 3, /^[A-Z0-9 -]{3,15}$/, false, 'N403') || undefined;
        party.country = shaped(seg, 4, /^[A-Z]{2,3}$/, false, 'N404') || undefined;
      }
    }
    return party;
  }

  equipment(n7: Segment): LoadTender['equipment'][number] {
    const eq = {
      initial: shaped(n7, 1, /^[A-Z0-9]{1,4}$/, false, 'N701') || undefined,
      number: shaped(n7, 2, /^\S.{0,14}$/, true, 'N702'),
      code: code(n7, 11, Object.keys(EQUIPMENT_CODES) as (keyof typeof EQUIPMENT_CODES)[], false),
    };
    decimal(n7, 3, false);
    code(n7, 4, WEIGHT_QUALIFIERS, false);
    while (this.peek() !== undefined && EQUIPMENT_DETAIL.has((this.peek() as Segment).id)) this.k += 1;
    return eq;
  }

  stop(s5: Segment): Stop {
    const reason = code(s5, 2, Object.keys(STOP_REASONS) as (keyof typeof STOP_REASONS)[], true);
    const stop: Stop = {
      sequence: decimal(s5, 1, true, true) as number,
      reason: reason as keyof typeof STOP_REASONS,
      kind: STOP_REASONS[reason as keyof typeof STOP_REASONS],
      weight: weightOf(s5, 3, 4, undefined),
      dates: [],
      references: [],
      parties: [],
      hazmat: false,
      notes: [],
    };
    decimal(s5, 5, false);
    for (let seg = this.peek(); seg !== undefined; seg = this.peek()) {
      if (seg.id === 'N1') {
        this.k += 1;
        stop.parties.push(this.party(seg));
        continue;
      }
      if (!STOP_DETAIL.has(seg.id) && !HAZMAT_SEGMENTS.has(seg.id)) {
        if (seg.id === 'S5' || seg.id === 'L3') break;
        throw unexpected(seg, 'segment not allowed in an S5 stop loop');
      }
      this.k += 1;
      if (HAZMAT_SEGMENTS.has(seg.id)) stop.hazmat = true;
      else if (seg.id === 'L11') stop.references.push(reference(seg));
      else if (seg.id === 'G62') stop.dates.push(dateTime(seg));
      else if (seg.id === 'AT8') {
        const w = weightOf(seg, 3, 2, code(seg, 1, WEIGHT_QUALIFIERS, true));
        if (w === undefined) throw new EdiError('EDI_MISSING_ELEMENT', 'AT8 without a weight', loc(seg, 3));
        stop.weight = w;
        decimal(seg, 4, false, true);
      } else if (seg.id === 'AT5') {
        if (shaped(seg, 1, CODE_2_3, false, 'AT501') === 'HM') stop.hazmat = true;
      } else if (seg.id === 'NTE') stop.notes.push(this.note(seg));
      else if (seg.id === 'L5') freeText(seg, 2, this.limits.maxFreeTextChars);
    }
    return stop;
  }

  summary(l3: Segment, tender: LoadTender): void {
    tender.weight = weightOf(l3, 1, 12, code(l3, 2, WEIGHT_QUALIFIERS, false));
    const rate = decimal(l3, 3, false);
    const qualifier = shaped(l3, 4, /^[A-Z0-9]{2}$/, rate !== undefined, 'L304') || undefined;
    const charge = decimal(l3, 5, false, true);
    if (rate !== undefined || charge !== undefined) {
      tender.rate = { rate, qualifier, charge: charge === undefined ? undefined : charge / 100 };
    }
  }
}

const unexpected = (seg: Segment, why: string): EdiError =>
  new EdiError('EDI_UNEXPECTED_SEGMENT', why, loc(seg));
const unknown = (seg: Segment, n: number): EdiError =>
  new EdiError('EDI_UNKNOWN_CODE', 'a code value this codec does not accept here', loc(seg, n));

function reference(seg: Segment): Reference {
  return {
    value: shaped(seg, 1, /^\S.{0,49}$/, true, 'L1101'),
    qualifier: shaped(seg, 2, /^[A-Z0-9]{2,3}$/, true, 'L1102'),
  };
}

/** A weight in element `w` with its unit in element `u` (pounds when the unit is absent from L3/S5). */
function weightOf(seg: Segment, w: number, u: number, qualifier: string | undefined): Weight | undefined {
  const v = decimal(seg, w, false);
  const unit = code(seg, u, WEIGHT_UNITS, false);
  if (v === undefined) return undefined;
  if (v < 0) throw new EdiError('EDI_INVALID_NUMBER', 'a negative weight', loc(seg, w));
  return { value: v, unit: unit ?? 'L', qualifier };
}

function dateTime(seg: Segment): DateTimeSpec {
  const qualifier = code(seg, 1, Object.keys(DATE_QUALIFIERS) as (keyof typeof DATE_QUALIFIERS)[], true);
  const date = required(seg, 2);
  parseDate(date, loc(seg, 2));
  const timeQualifier = code(seg, 3, Object.keys(TIME_QUALIFIERS), false);
  const time = value(seg, 4);
  if ((timeQualifier === undefined) !== (time === '')) {
    throw new EdiError('EDI_MISSING_ELEMENT', 'G6203 and G6204 go together', loc(seg, timeQualifier ? 4 : 3));
  }
  if (time !== '') parseTime(time, loc(seg, 4));
  const timeCode = value(seg, 5);
  if (timeCode !== '' && !isTimeCode(timeCode)) throw unknown(seg, 5);
  return {
    qualifier: qualifier as keyof typeof DATE_QUALIFIERS,
    date,
    timeQualifier,
    time: time || undefined,
    timeCode: timeCode || undefined,
  };
}
