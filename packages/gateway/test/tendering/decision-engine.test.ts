/**
 * The decision engine beyond lanes and limits (tendering/decide.ts): ODD hours and equipment, fleet
 * capacity in the window, window feasibility from lane distance and planning speed, and the cases that
 * go to human review — each with its reason code. Deterministic: a property checks that the same
 * request, configuration and count always give the same decision.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfig, type GatewayConfig } from '../../src/config/config.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { decideTender, overlapsOperatingHours, type TenderRequest } from '../../src/tendering/decide.ts';

const now = new Date('2026-11-24T12:00:00Z');
const base: TenderRequest = {
  reference: 'T-1',
  origin: 'Dallas, TX',
  destination: 'Houston, TX',
  equipment: 'dry_van',
  weightKg: 10_000,
  hazmat: false,
  pickupWindow: { start: '2026-11-25T08:00:00Z', end: '2026-11-25T12:00:00Z' },
  deliverBy: '2026-11-25T20:00:00Z',
};
const config = (tweak: (c: GatewayConfig) => void = () => {}) => {
  const c = defaultConfig();
  tweak(c);
  return c;
};
const decide = (over: Partial<TenderRequest>, c = config(), booked = 0) =>
  decideTender({ ...base, ...over }, c, now, { bookedInWindow: booked });

describe('decision engine', () => {
  it('declines outside the ODD: equipment the driver is not qualified for, pickup outside hours', () => {
    const c = config((x) => {
      x.tenderEngine.oddEquipment = ['dry_van'];
      x.tenderEngine.operatingHours = { start: '22:00', end: '06:00' };
    });
    expect(decide({ equipment: 'reefer' }, c).reasons).toEqual(['ODD_EQUIPMENT', 'ODD_HOURS']);
    // A window touching 05:00 UTC is inside a wrapping 22:00–06:00.
    const night = { start: '2026-11-25T04:00:00Z', end: '2026-11-25T05:00:00Z' };
    expect(decide({ pickupWindow: night, deliverBy: '2026-11-25T20:00:00Z' }, c).decision).toBe('accepted');
    expect(
      overlapsOperatingHours(Date.parse('2026-11-25T06:00:00Z'), Date.parse('2026-11-25T21:59:00Z'), {
        start: '22:00',
        end: '06:00',
      }),
    ).toBe(false);
  });

  it('declines when every truck is booked in the window', () => {
    const c = config((x) => {
      x.tenderEngine.fleetSize = 2;
    });
    expect(decide({}, c, 1).decision).toBe('accepted');
    expect(decide({}, c, 2).reasons).toEqual(['CAPACITY_EXHAUSTED']);
    // Not added to a tender declined for what it is.
    expect(decide({ destination: 'Chicago, IL' }, c, 2).reasons).toEqual(['LANE_NOT_SERVED']);
    // fleetSize null: the configured vehicles (12 by default).
    expect(decide({}, config(), 11).decision).toBe('accepted');
    expect(decide({}, config(), 12).reasons).toEqual(['CAPACITY_EXHAUSTED']);
  });

  it('checks window feasibility from lane distance and speed, and reviews what it cannot decide', () => {
    // DAL-HOU 385 km at 80 km/h = 4 h 49 min from pickup start.
    expect(decide({ deliverBy: '2026-11-25T12:40:00Z' }).reasons).toEqual(['WINDOW_INFEASIBLE']);
    expect(decide({ deliverBy: '2026-11-25T13:00:00Z' })).toMatchObject({
      decision: 'pending_review',
      reasons: ['REVIEW_WINDOW_TIGHT'],
    });
    const unknown = config((x) => {
      x.tenderEngine.laneDistanceKm = {};
    });
    expect(decide({}, unknown)).toMatchObject({
      decision: 'pending_review',
      reasons: ['REVIEW_LANE_DISTANCE_UNKNOWN'],
    });
    const far = {
      pickupWindow: { start: '2027-03-01T08:00:00Z', end: '2027-03-01T12:00:00Z' },
      deliverBy: '2027-03-01T20:00:00Z',
    };
    expect(decide(far).decision).toBe('accepted');
    const horizon = config((x) => {
      x.tenderEngine.planningHorizonDays = 30;
    });
    expect(decide(far, horizon).reasons).toEqual(['REVIEW_BEYOND_HORIZON']);
    // A decline wins over review.
    expect(decide({ weightKg: 30_000 }, unknown).decision).toBe('declined');
  });

  it('declines stops that do not start with a pickup, end with a delivery, in time order', () => {
    const stop = (type: 'pickup' | 'delivery', start: string) => ({
      type,
      location: { name: 'Dallas, TX' },
      window: { start, end: start },
    });
    expect(
      decide({ stops: [stop('pickup', '2026-11-25T08:00:00Z'), stop('delivery', '2026-11-25T15:00:00Z')] })
        .decision,
    ).toBe('accepted');
    expect(
      decide({ stops: [stop('delivery', '2026-11-25T08:00:00Z'), stop('pickup', '2026-11-25T15:00:00Z')] })
        .reasons,
    ).toEqual(['STOPS_INVALID']);
    expect(
      decide({ stops: [stop('pickup', '2026-11-25T15:00:00Z'), stop('delivery', '2026-11-25T08:00:00Z')] })
        .reasons,
    ).toEqual(['STOPS_INVALID']);
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 40_000 }),
        fc.boolean(),
        (booked, weightKg, hazmat) => {
          const a = decide({ weightKg, hazmat }, config(), booked);
          const b = decide({ weightKg, hazmat }, config(), booked);
          expect(a).toEqual(b);
          expect(a.reasons.length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('validates the tenderEngine section, and an absent section gets its defaults', () => {
    const doc = JSON.parse(JSON.stringify(defaultConfig())) as Record<string, unknown>;
    delete doc.tenderEngine;
    expect(validateConfig(doc).tenderEngine).toEqual(defaultConfig().tenderEngine);
    expect(() =>
      validateConfig({ ...doc, tenderEngine: { operatingHours: { start: '25:00', end: '06:00' } } }),
    ).toThrow(/operatingHours.start/);
    expect(() => validateConfig({ ...doc, tenderEngine: { laneDistanceKm: { 'DAL-HOU': -1 } } })).toThrow(
      /laneDistanceKm/,
    );
    expect(validateConfig({ ...doc, tenderEngine: { fleetSize: 4 } }).tenderEngine.fleetSize).toBe(4);
  });
});
