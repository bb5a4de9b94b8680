/**
 * The lifecycle → 990/214 mapping (edi-channel/status-map.ts) and the EDI configuration keys: every AT7
 * the map names is one the codec sends (a 214 is generated for each), decisions map to 990 A/D with the
 * right reasons, and statuses that decide nothing send nothing; partners[].edi and edi are validated.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/config.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { generateShipmentStatus } from '../../src/edi/generate-214.ts';
import { plansFor, STATUS_214 } from '../../src/edi-channel/status-map.ts';
import type { TenderStatus } from '../../src/tendering/lifecycle.ts';
import type { LifecycleChange } from '../../src/tendering/lifecycle-feed.ts';
import { bodyOf, segment } from './support.ts';

const change = (
  from: TenderStatus | null,
  to: TenderStatus,
  reason: string | null = null,
): LifecycleChange => ({
  id: 'tnd_x:1',
  tenderId: 'tnd_x',
  seq: 1,
  tenant: 'acme',
  partnerId: 'acme-tms',
  reference: 'SH-1',
  from,
  to,
  event: 'e',
  reason,
  vehicleId: null,
  occurredAt: new Date('2026-12-01T10:00:00Z'),
  recordedAt: new Date('2026-12-01T10:00:00Z'),
  auditIndex: 5,
});

describe('lifecycle → EDI messages', () => {
  it('maps decisions to 990 A/D with the engine or operator reasons', () => {
    expect(plansFor(change('received', 'accepted'))).toEqual([
      { type: '990', decision: 'accept', reasons: [] },
    ]);
    expect(plansFor(change('received', 'declined', 'LANE_NOT_SERVED WEIGHT_OVER_LIMIT'))).toEqual([
      { type: '990', decision: 'decline', reasons: ['LANE_NOT_SERVED', 'WEIGHT_OVER_LIMIT'] },
    ]);
    expect(plansFor(change('pending_review', 'declined', 'the customer called, no capacity'))).toEqual([
      { type: '990', decision: 'decline', reasons: ['OPERATOR_DECLINED'] },
    ]);
    expect(plansFor(change('pending_review', 'accepted', 'looks fine'))[0]).toMatchObject({
      decision: 'accept',
    });
    for (const quiet of ['received', 'pending_review', 'cancelled'] as const) {
      expect(plansFor(change(null, quiet))).toEqual([]);
    }
  });

  it('names only AT7 codes the codec sends, for every fleet status', () => {
    const statuses = Object.keys(STATUS_214) as TenderStatus[];
    expect(statuses).toHaveLength(9);
    const envelope = {
      version: '4010' as const,
      sender: { qualifier: 'ZZ', id: 'FLEETGATE' },
      receiver: { qualifier: 'ZZ', id: 'ACMETMS' },
      applicationSender: 'FLEETGATE',
      applicationReceiver: 'ACMETMS',
      controlNumbers: { interchange: 1, group: 1, transactionSet: 1 },
      test: false,
      now: new Date(),
    };
    for (const status of statuses) {
      for (const plan of plansFor(change('dispatched', status))) {
        if (plan.type !== '214') throw new Error('expected a 214');
        const x12 = generateShipmentStatus(
          {
            carrierReference: 'R1',
            shipmentId: 'SH-1',
            scac: 'FGAT',
            status: plan.status,
            reason: plan.reason,
            at: new Date(),
            timeCode: 'UT',
          },
          envelope,
        ).toString('utf8');
        expect(segment(bodyOf(x12).segments, 'AT7').slice(0, 2)).toEqual([plan.status, plan.reason]);
      }
    }
    expect(plansFor(change('at_pickup', 'loaded')).map((p) => (p.type === '214' ? p.status : ''))).toEqual([
      'CP',
      'AF',
    ]);
  });
});

describe('EDI configuration', () => {
  const base = () => JSON.parse(JSON.stringify(defaultConfig())) as Record<string, unknown>;

  it('defaults the edi section and the demo partner identity', () => {
    const config = validateConfig(base());
    expect(config.edi).toMatchObject({ ourIsaId: 'FLEETGATE', scac: 'FGAT', pollIntervalMs: 1000 });
    expect(config.edi.dropDirectory).toBeUndefined();
    expect(config.partners[0]?.edi).toEqual({
      isaQualifier: 'ZZ',
      isaId: 'ACMETMS',
      localTimeZone: 'America/Chicago',
    });
    const { edi: _, ...withoutEdi } = base();
    expect(validateConfig(withoutEdi).edi.ourGsId).toBe('FLEETGATE');
  });

  it('refuses a bad zone, an ISA id with a separator, an unknown key', () => {
    const doc = base();
    doc.partners = [
      { id: 'a', tenant: 'a', edi: { isaQualifier: 'ZZ', isaId: 'A*B', localTimeZone: 'Mars/Olympus' } },
    ];
    doc.edi = { scac: 'toolong', surprise: true };
    expect(() => validateConfig(doc)).toThrow(
      /partners\[0\]\.edi\.isaId.*|localTimeZone: not an IANA time zone|\$\.edi\.surprise: unknown key/,
    );
    try {
      validateConfig(doc);
    } catch (error) {
      const problems = (error as { problems: string[] }).problems.join('\n');
      expect(problems).toContain('$.partners[0].edi.isaId');
      expect(problems).toContain('$.partners[0].edi.localTimeZone: not an IANA time zone');
      expect(problems).toContain('$.edi.scac');
      expect(problems).toContain('$.edi.surprise: unknown key');
    }
  });
});
