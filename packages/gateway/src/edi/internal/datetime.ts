/**
 * X12 date (DT: CCYYMMDD, or YYMMDD in the ISA) and time (TM: HHMM[SS[D[D]]]) checks, and the X12 time
 * codes (element 623) as UTC offsets or IANA zones. Threat: impossible dates such as 20230230 that a
 * lenient `Date.parse` would roll over into March; we compare the fields back after construction.
 */
import { EdiError, type EdiLocation } from '../errors.ts';

export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

export interface CivilTime {
  hour: number;
  minute: number;
  second: number;
}

function realDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** CCYYMMDD (8 digits) or, for the ISA, YYMMDD (6 digits, 20YY). */
export function parseDate(value: string, at: EdiLocation, digits: 6 | 8 = 8): CivilDate {
  const ok = digits === 8 ? /^\d{8}$/.test(value) : /^\d{6}$/.test(value);
  if (!ok)
    throw new EdiError('EDI_INVALID_DATE', `a date is not ${digits === 8 ? 'CCYYMMDD' : 'YYMMDD'}`, at);
  const year = digits === 8 ? Number(value.slice(0, 4)) : 2000 + Number(value.slice(0, 2));
  const rest = value.slice(digits - 4);
  const month = Number(rest.slice(0, 2));
  const day = Number(rest.slice(2, 4));
  if (!realDate(year, month, day)) throw new EdiError('EDI_INVALID_DATE', 'the date does not exist', at);
  return { year, month, day };
}

/** HHMM, HHMMSS, HHMMSSD or HHMMSSDD (decimal seconds are read and dropped). */
export function parseTime(value: string, at: EdiLocation, maxDigits = 8): CivilTime {
  if (!/^\d{4}(\d{2}(\d{1,2})?)?$/.test(value) || value.length > maxDigits) {
    throw new EdiError('EDI_INVALID_TIME', 'a time is not HHMM[SS[D[D]]]', at);
  }
  const hour = Number(value.slice(0, 2));
  const minute = Number(value.slice(2, 4));
  const second = value.length >= 6 ? Number(value.slice(4, 6)) : 0;
  if (hour > 23 || minute > 59 || second > 59) {
    throw new EdiError('EDI_INVALID_TIME', 'the time does not exist', at);
  }
  return { hour, minute, second };
}

/** X12 time codes (623) this codec reads and writes: a fixed offset in minutes or an IANA zone. */
const TIME_CODES: Readonly<Record<string, number | string>> = {
  UT: 0,
  GM: 0,
  ET: 'America/New_York',
  ES: -300,
  ED: -240,
  CT: 'America/Chicago',
  CS: -360,
  CD: -300,
  MT: 'America/Denver',
  MS: -420,
  MD: -360,
  PT: 'America/Los_Angeles',
  PS: -480,
  PD: -420,
};
// 01–12 = UTC+01…+12, 13–24 = UTC−12…−01 (ISO 8601 offsets spelt with digits).
const NUMERIC_CODES: Readonly<Record<string, number>> = Object.fromEntries(
  Array.from({ length: 24 }, (_, k) => {
    const code = String(k + 1).padStart(2, '0');
    return [code, k < 12 ? (k + 1) * 60 : (k - 24) * 60];
  }),
);

/** `LT` (local time) is a known code without a zone; the caller must say which zone it means. */
export const LOCAL_TIME = 'LT';

export function isTimeCode(code: string): boolean {
  return code === LOCAL_TIME || code in TIME_CODES || code in NUMERIC_CODES;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone: constructing an Intl.DateTimeFormat costs far more than using one. */
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    // Bounded: the zones are the few in TIME_CODES plus the callers' configured local zones.
    if (formatters.size < 64) formatters.set(zone, f);
  }
  return f;
}

/** The UTC offset (minutes) of a wall-clock time in an IANA zone at about that time. */
function zoneOffsetMinutes(zone: string, utcMs: number): number {
  const parts = formatter(zone).formatToParts(new Date(utcMs));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

/**
 * The instant of a wall-clock date and time in a time code (or an IANA zone for `LT`). Zone-based codes
 * (CT, ET, …) follow daylight saving time; in the hour a clock repeats, the earlier instant is taken.
 */
export function toInstant(
  date: CivilDate,
  time: CivilTime,
  code: string,
  localZone?: string,
): Date | undefined {
  const wall = Date.UTC(date.year, date.month - 1, date.day, time.hour, time.minute, time.second);
  const spec = code === LOCAL_TIME ? localZone : (TIME_CODES[code] ?? NUMERIC_CODES[code]);
  if (spec === undefined) return undefined;
  if (typeof spec === 'number') return new Date(wall - spec * 60_000);
  let guess = wall - zoneOffsetMinutes(spec, wall) * 60_000;
  guess = wall - zoneOffsetMinutes(spec, guess) * 60_000;
  return new Date(guess);
}

/** The wall-clock CCYYMMDD and HHMM of an instant in a time code (`LT` is refused: it names no zone). */
export function wallClock(instant: Date, code: string): { date: string; time: string } | undefined {
  const spec = TIME_CODES[code] ?? NUMERIC_CODES[code];
  if (spec === undefined) return undefined;
  const offset = typeof spec === 'number' ? spec : zoneOffsetMinutes(spec, instant.getTime());
  const d = new Date(instant.getTime() + offset * 60_000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return {
    date: `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`,
    time: `${p(d.getUTCHours())}${p(d.getUTCMinutes())}`,
  };
}

export function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
