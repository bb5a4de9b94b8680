/**
 * Client policies: strict parsing (fail closed), lanes and equipment against the configured lanes, and
 * time windows in IANA zones — known answers across midnight and DST in America/Chicago, and properties
 * against an independent oracle that walks the interval minute by minute.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tenderPolicyViolation } from '../../../src/auth/policy/enforce-tender.ts';
import { parseClientPolicy, type TimeWindow } from '../../../src/auth/policy/policy.ts';
import { localTime, withinWindow } from '../../../src/auth/policy/time-window.ts';
import { defaultConfig } from '../../../src/config/config.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';

const NIGHT: TimeWindow = { start: '22:00', end: '06:00', timeZone: 'America/Chicago' };
const lanes = defaultConfig().lanes;

const tender = (over: Record<string, unknown> = {}) => ({
  origin: 'Dallas, TX',
  destination: 'Houston, TX',
  equipment: 'reefer',
  pickupWindow: { start: '2026-12-02T04:00:00Z', end: '2026-12-02T07:00:00Z' }, // 22:00–01:00 CST
  ...over,
});

describe('parseClientPolicy', () => {
  it('parses the documented shape and treats absent members as unrestricted', () => {
    expect(parseClientPolicy('{}')).toEqual({});
    expect(
      parseClientPolicy(JSON.stringify({ lanes: ['DAL-HOU'], equipment: ['reefer'], timeWindows: [NIGHT] })),
    ).toEqual({ lanes: ['DAL-HOU'], equipment: ['reefer'], timeWindows: [NIGHT] });
    expect(parseClientPolicy('{"lanes":[]}')).toEqual({ lanes: [] });
  });

  it('refuses anything else with AUTH_POLICY_INVALID', () => {
    for (const bad of [
      '',
      'null',
      '[]',
      '{"lanes":"DAL-HOU"}',
      '{"lanes":[1]}',
      '{"lane":["DAL-HOU"]}',
      '{"equipment":["Reefer!"]}',
      '{"timeWindows":[{"start":"22:00","end":"06:00"}]}',
      '{"timeWindows":[{"start":"22:00","end":"06:00","timeZone":"Mars/Olympus"}]}',
      '{"timeWindows":[{"start":"25:00","end":"06:00","timeZone":"UTC"}]}',
      '{"timeWindows":[{"start":"06:00","end":"06:00","timeZone":"UTC"}]}',
      '{"timeWindows":[{"start":"06:00","end":"07:00","timeZone":"UTC","days":[1]}]}',
      '{"__proto__":{"lanes":[]}}',
      `{"lanes":${JSON.stringify(Array.from({ length: 300 }, (_, i) => `L${i}`))}}`,
      `${'['.repeat(64)}${']'.repeat(64)}`,
    ]) {
      expect(() => parseClientPolicy(bad), bad.slice(0, 60)).toThrow(GatewayError);
      try {
        parseClientPolicy(bad);
      } catch (error) {
        expect((error as GatewayError).code).toBe('AUTH_POLICY_INVALID');
      }
    }
  });
});

describe('tenderPolicyViolation', () => {
  const policy = { lanes: ['DAL-HOU'], equipment: ['reefer'], timeWindows: [NIGHT] };

  it('allows a reefer on DAL-HOU (either direction) picked up 22:00–01:00 Chicago time', () => {
    expect(tenderPolicyViolation(policy, tender(), lanes)).toBeUndefined();
    expect(
      tenderPolicyViolation(policy, tender({ origin: 'Houston, TX', destination: 'Dallas, TX' }), lanes),
    ).toBeUndefined();
    expect(tenderPolicyViolation({}, tender({ destination: 'Chicago, IL' }), lanes)).toBeUndefined();
  });

  it('refuses another lane, an unserved lane, other equipment and a daytime pickup, with the rule that failed', () => {
    expect(
      tenderPolicyViolation(policy, tender({ origin: 'Fort Worth, TX', destination: 'El Paso, TX' }), lanes)
        ?.code,
    ).toBe('AUTH_POLICY_LANE');
    expect(tenderPolicyViolation(policy, tender({ destination: 'Chicago, IL' }), lanes)?.code).toBe(
      'AUTH_POLICY_LANE',
    );
    expect(tenderPolicyViolation(policy, tender({ equipment: 'dry_van' }), lanes)?.code).toBe(
      'AUTH_POLICY_EQUIPMENT',
    );
    const noon = { start: '2026-12-02T18:00:00Z', end: '2026-12-02T20:00:00Z' };
    expect(tenderPolicyViolation(policy, tender({ pickupWindow: noon }), lanes)?.code).toBe(
      'AUTH_POLICY_TIME_WINDOW',
    );
    expect(tenderPolicyViolation({ lanes: [] }, tender(), lanes)?.code).toBe('AUTH_POLICY_LANE');
  });
});

describe('withinWindow', () => {
  const at = (iso: string) => new Date(iso);

  it('handles windows crossing midnight, with exclusive start/inclusive end edges', () => {
    // Winter: Chicago is UTC-6.
    expect(withinWindow(at('2026-12-02T04:00:00Z'), at('2026-12-02T12:00:00Z'), NIGHT)).toBe(true); // 22:00–06:00
    expect(withinWindow(at('2026-12-02T03:59:00Z'), at('2026-12-02T05:00:00Z'), NIGHT)).toBe(false); // 21:59
    expect(withinWindow(at('2026-12-02T11:00:00Z'), at('2026-12-02T12:01:00Z'), NIGHT)).toBe(false); // to 06:01
    expect(withinWindow(at('2026-12-02T12:00:00Z'), at('2026-12-02T12:30:00Z'), NIGHT)).toBe(false); // from 06:00
    expect(withinWindow(at('2026-12-02T08:00:00Z'), at('2026-12-02T10:00:00Z'), NIGHT)).toBe(true); // 02:00–04:00
    // 23:00 one night to 01:00 the night after: both ends inside, but not the same occurrence.
    expect(withinWindow(at('2026-12-02T05:00:00Z'), at('2026-12-03T07:00:00Z'), NIGHT)).toBe(false);
    expect(withinWindow(at('2026-12-02T07:00:00Z'), at('2026-12-02T05:00:00Z'), NIGHT)).toBe(false); // reversed
  });

  it('follows daylight saving time (CDT is UTC-5, CST UTC-6), not a fixed offset', () => {
    // 2026-07-01 22:30 CDT = 03:30Z; with a fixed -6 offset it would be 21:30 and outside.
    expect(withinWindow(at('2026-07-02T03:30:00Z'), at('2026-07-02T04:00:00Z'), NIGHT)).toBe(true);
    expect(withinWindow(at('2026-12-02T03:30:00Z'), at('2026-12-02T04:00:00Z'), NIGHT)).toBe(false);
    // The night of the fall-back (2026-11-01 02:00 CDT → 01:00 CST) is one occurrence of 9 hours.
    expect(withinWindow(at('2026-11-01T03:00:00Z'), at('2026-11-01T12:00:00Z'), NIGHT)).toBe(true);
  });

  it('handles 24:00 ends and local midnight', () => {
    const evening: TimeWindow = { start: '18:00', end: '24:00', timeZone: 'UTC' };
    expect(withinWindow(at('2026-12-02T18:00:00Z'), at('2026-12-03T00:00:00Z'), evening)).toBe(true);
    expect(withinWindow(at('2026-12-02T18:00:00Z'), at('2026-12-03T00:00:01Z'), evening)).toBe(false);
    const day: TimeWindow = { start: '00:00', end: '24:00', timeZone: 'Asia/Kolkata' };
    expect(withinWindow(at('2026-12-02T00:00:00Z'), at('2026-12-02T12:00:00Z'), day)).toBe(true); // 05:30–17:30
    expect(withinWindow(at('2026-12-02T12:00:00Z'), at('2026-12-02T20:00:00Z'), day)).toBe(false); // over midnight IST
  });

  it('agrees with a minute-by-minute oracle (property)', () => {
    const zones = ['America/Chicago', 'UTC', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe'];
    const hhmm = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45))
      .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    fc.assert(
      fc.property(
        hhmm,
        hhmm,
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2026, 0, 1) / 60_000, max: Date.UTC(2027, 0, 1) / 60_000 }),
        fc.integer({ min: 1, max: 26 * 60 }),
        (start, end, timeZone, fromMinute, minutes) => {
          fc.pre(start !== end);
          const window = { start, end, timeZone };
          const from = new Date(fromMinute * 60_000);
          const to = new Date((fromMinute + minutes) * 60_000);
          // Oracle: every minute of [from, to) must be inside the window by local wall-clock minute; the
          // interval must not wrap a full day; DST folds are excluded (documented limitation).
          const s = Number(start.slice(0, 2)) * 60 + Number(start.slice(3));
          const e = Number(end.slice(0, 2)) * 60 + Number(end.slice(3));
          const inside = (m: number) => (s < e ? m >= s && m < e : m >= s || m < e);
          let oracle = minutes < 24 * 60;
          let folded = false;
          let previous = -1;
          for (let t = fromMinute; t < fromMinute + minutes && oracle; t += 1) {
            const local = localTime(new Date(t * 60_000), timeZone);
            const minute = Math.floor(local.second / 60);
            if (previous >= 0 && minute !== (previous + 1) % 1440) folded = true;
            previous = minute;
            oracle = inside(minute);
          }
          fc.pre(!folded);
          expect(withinWindow(from, to, window)).toBe(oracle);
        },
      ),
      { numRuns: 400 },
    );
  });
});
