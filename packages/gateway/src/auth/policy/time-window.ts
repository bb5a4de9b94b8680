/**
 * Does an interval of instants lie within a daily wall-clock window of an IANA time zone
 * (e.g. 22:00–06:00 America/Chicago)? Local time comes from Intl.DateTimeFormat (the platform's tz
 * database, DST included), never from a fixed UTC offset.
 *
 * A window has one *occurrence* per local date: the occurrence of date D runs from `start` on D to `end`
 * on D, or on D+1 when the window crosses midnight. An interval [from, to] is within the window when
 * `from` and `to` fall in the same occurrence, `from` in [start, end) and `to` in (start, end] — so a
 * pickup from 23:00 to 02:00 fits 22:00–06:00, and one from 05:00 to 07:00, or from 23:00 to 23:00 the
 * next day, does not. `to` at local midnight counts as 24:00 of the day before. Both ends are judged in
 * wall-clock time; a DST fold inside the interval is not inspected (documented in docs/auth.md).
 */
import { minutesOf, type TimeWindow } from './policy.ts';

interface LocalTime {
  /** Days since 1970-01-01 of the local calendar date. */
  day: number;
  /** Seconds since local midnight. */
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    if (formatters.size > 256) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

export function localTime(instant: Date, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return { day: Date.UTC(year, month - 1, day) / 86_400_000, second: hour * 3600 + minute * 60 + second };
}

/** The occurrence (its start date) holding `t`, or undefined when `t` is outside the window. */
function occurrence(t: LocalTime, start: number, end: number, atEnd: boolean): number | undefined {
  const inside = (lo: number, hi: number) =>
    atEnd ? t.second > lo && t.second <= hi : t.second >= lo && t.second < hi;
  if (start < end) return inside(start, end) ? t.day : undefined;
  // Crosses midnight: [start, 24:00) belongs to today's occurrence, [00:00, end) to yesterday's.
  if (inside(start, 86_400)) return t.day;
  if (inside(atEnd ? -1 : 0, end)) return t.day - 1;
  return undefined;
}

export function withinWindow(from: Date, to: Date, window: TimeWindow): boolean {
  if (to.getTime() < from.getTime()) return false;
  const start = minutesOf(window.start) * 60;
  const end = minutesOf(window.end) * 60;
  const a = localTime(from, window.timeZone);
  let b = localTime(to, window.timeZone);
  if (b.second === 0) b = { day: b.day - 1, second: 86_400 };
  const first = occurrence(a, start, end, false);
  return first !== undefined && first === occurrence(b, start, end, true);
}
