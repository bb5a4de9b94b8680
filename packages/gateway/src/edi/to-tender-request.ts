/**
 * Maps a parsed 204 (LoadTender) to the gateway's tender request (tendering/decide.ts TenderRequest), so
 * an EDI tender goes through the same decision as a REST one. The mapping is documented segment by
 * segment in docs/tendering.md#edi-x12. Threat: a lenient mapping that guesses (a zone, a unit, an
 * equipment type) would make the fleet decide on a load nobody tendered; what cannot be mapped exactly is
 * refused with EDI_UNMAPPABLE and left for the caller (a 990 decline or human review).
 */
import type { TenderRequest } from '../tendering/decide.ts';
import { EdiError } from './errors.ts';
import { DATE_QUALIFIERS, EQUIPMENT_CODES, TIME_QUALIFIERS } from './internal/codes.ts';
import { isValidZone, LOCAL_TIME, parseDate, parseTime, toInstant } from './internal/datetime.ts';
import type { DateTimeSpec, LoadTender, Party, Stop, Weight } from './load-tender.ts';

export interface TenderMappingOptions {
  /**
   * IANA zone (e.g. "America/Chicago") meant by G62 times with time code LT or without a time code.
   * Without it such times are refused: a partner's local time is not ours to guess.
   */
  localTimeZone?: string;
}

const POUND_KG = 0.453_592_37;

const unmappable = (why: string): EdiError => new EdiError('EDI_UNMAPPABLE', why);

export function loadTenderToTenderRequest(
  tender: LoadTender,
  options: TenderMappingOptions = {},
): TenderRequest {
  if (options.localTimeZone !== undefined && !isValidZone(options.localTimeZone)) {
    throw new EdiError('EDI_INVALID_ARGUMENT', 'localTimeZone is not an IANA time zone');
  }
  if (tender.purpose !== 'original') {
    throw unmappable('only an original 204 (B2A01 00) creates a tender; changes name an existing one');
  }
  const pickup = tender.stops.find((s) => s.kind === 'pickup');
  const delivery = tender.stops.findLast((s) => s.kind === 'delivery');
  if (pickup === undefined) throw unmappable('the 204 has no pickup stop (S502 LD, CL or PL)');
  if (delivery === undefined) throw unmappable('the 204 has no delivery stop (S502 UL, CU or PU)');

  const coded = tender.equipment.find((e) => e.code !== undefined);
  if (coded?.code === undefined) throw unmappable('no N7 names an equipment type (N711)');

  const zone = options.localTimeZone;
  const pickupWindow = window(pickup, 'pickup', zone);
  const deliverBy = latest(delivery, zone);
  return {
    reference: tender.shipmentId,
    origin: place(pickup, ['SF', 'SH']),
    destination: place(delivery, ['ST', 'CN']),
    equipment: EQUIPMENT_CODES[coded.code],
    weightKg: weightKg(tender),
    hazmat: tender.hazmat,
    pickupWindow,
    deliverBy,
  };
}

/** "City, ST" from the stop's N4, preferring the given N1 entity codes. */
function place(stop: Stop, preferred: readonly string[]): string {
  const located = stop.parties.filter((p) => p.city !== undefined && p.state !== undefined);
  const party: Party | undefined =
    located.find((p) => preferred.includes(p.entity)) ?? (located.length === 1 ? located[0] : undefined);
  if (party === undefined) throw unmappable(`stop ${stop.sequence} has no single N1/N4 with city and state`);
  return `${titleCase(party.city as string)}, ${party.state as string}`;
}

function titleCase(city: string): string {
  if (city !== city.toUpperCase()) return city.trim();
  return city
    .trim()
    .toLowerCase()
    .replace(/(^|[\s-])(\p{L})/gu, (_, sep: string, c: string) => sep + c.toUpperCase());
}

function toKg(w: Weight): number {
  return w.unit === 'K' ? w.value : w.value * POUND_KG;
}

function weightKg(tender: LoadTender): number {
  if (tender.weight !== undefined) return Math.round(toKg(tender.weight));
  const stops = tender.stops.filter((s) => s.kind === 'pickup' && s.weight !== undefined);
  if (stops.length === 0) throw unmappable('no weight: neither L3 nor a pickup stop (S503 / AT8) has one');
  return Math.round(stops.reduce((sum, s) => sum + toKg(s.weight as Weight), 0));
}

type Side = 'start' | 'end' | 'both';

function sideOf(d: DateTimeSpec, kind: 'pickup' | 'delivery'): Side | undefined {
  const role = DATE_QUALIFIERS[d.qualifier];
  if (role === `${kind}-start`) return 'start';
  if (role === `${kind}-end`) return 'end';
  if (role !== kind) return undefined;
  const tq = d.timeQualifier === undefined ? undefined : TIME_QUALIFIERS[d.timeQualifier as 'G'];
  return tq === 'start' ? 'start' : tq === 'end' ? 'end' : 'both';
}

function instant(d: DateTimeSpec, defaultTime: string, zone: string | undefined): number {
  const code = d.timeCode ?? LOCAL_TIME;
  if (code === LOCAL_TIME && zone === undefined) {
    throw unmappable('a G62 time is local time (LT or no G6205) and no local zone was configured');
  }
  const at = toInstant(parseDate(d.date, {}), parseTime(d.time ?? defaultTime, {}), code, zone);
  if (at === undefined) throw unmappable('a G62 time code names no zone');
  return at.getTime();
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A stop's window: earliest start and latest end; a date without time spans the whole day. */
function window(stop: Stop, kind: 'pickup', zone: string | undefined): { start: string; end: string } {
  const starts: number[] = [];
  const ends: number[] = [];
  for (const d of stop.dates) {
    const side = sideOf(d, kind);
    if (side === undefined) continue;
    if (side !== 'end') starts.push(instant(d, '0000', zone));
    if (side !== 'start') ends.push(instant(d, '2359', zone));
  }
  if (starts.length === 0 || ends.length === 0) {
    throw unmappable(`stop ${stop.sequence} has no pickup date (G62 10, 37, 38, 69 or 77)`);
  }
  return { start: iso(Math.min(...starts)), end: iso(Math.max(...ends)) };
}

/** The delivery deadline: the latest "not later than" / requested / scheduled delivery time. */
function latest(stop: Stop, zone: string | undefined): string {
  const ends: number[] = [];
  for (const d of stop.dates) {
    const side = sideOf(d, 'delivery');
    if (side === 'end' || side === 'both') ends.push(instant(d, '2359', zone));
  }
  if (ends.length === 0) {
    throw unmappable(`stop ${stop.sequence} has no delivery deadline (G62 54, 68, 70 or 78)`);
  }
  return iso(Math.max(...ends));
}
