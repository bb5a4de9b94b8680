/** The tender decision: deterministic reason codes from lanes, equipment, hazmat, weight and windows. */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/config/config.ts';
import { decideTender, type TenderRequest } from '../src/tendering/decide.ts';

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
const decide = (over: Partial<TenderRequest>) => decideTender({ ...base, ...over }, defaultConfig(), now);

describe('decideTender', () => {
  it('accepts served lanes in both directions, ignoring case and spacing', () => {
    expect(decide({})).toEqual({ decision: 'accepted', laneId: 'DAL-HOU', reasons: ['LANE_SERVED'] });
    expect(decide({ origin: ' houston,  tx', destination: 'DALLAS, TX' }).decision).toBe('accepted');
  });

  it('declines with every applicable reason', () => {
    expect(decide({ destination: 'Chicago, IL' }).reasons).toEqual(['LANE_NOT_SERVED']);
    expect(decide({ equipment: 'tanker', hazmat: true, weightKg: 25_000 }).reasons).toEqual([
      'EQUIPMENT_NOT_SUPPORTED',
      'HAZMAT_NOT_ALLOWED',
      'OVERWEIGHT',
    ]);
    expect(
      decide({ pickupWindow: { start: '2026-11-25T12:00:00Z', end: '2026-11-25T08:00:00Z' } }).reasons,
    ).toEqual(['WINDOW_INVALID']);
    expect(
      decide({
        pickupWindow: { start: '2026-11-20T08:00:00Z', end: '2026-11-20T12:00:00Z' },
        deliverBy: '2026-11-21T00:00:00Z',
      }).reasons,
    ).toEqual(['WINDOW_IN_PAST']);
  });
});
