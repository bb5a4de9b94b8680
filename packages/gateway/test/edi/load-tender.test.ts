/** 204 → LoadTender → the gateway's TenderRequest, and the 204's own refusals. */
import { describe, expect, it } from 'vitest';
import { EdiError } from '../../src/edi/errors.ts';
import { readLoadTenders } from '../../src/edi/parse-204.ts';
import { parseInterchange } from '../../src/edi/parse-interchange.ts';
import { loadTenderToTenderRequest } from '../../src/edi/to-tender-request.ts';
import { decideTender } from '../../src/tendering/decide.ts';
import { DRY_VAN_204, fixture, x12 } from './support.ts';

const tenders = (input: string | Uint8Array) => readLoadTenders(parseInterchange(input));

function failure(f: () => unknown): EdiError {
  try {
    f();
  } catch (e) {
    if (e instanceof EdiError) return e;
    throw e;
  }
  throw new Error('expected an EdiError');
}

const replace = (id: string, seg: string[]): string[][] => DRY_VAN_204.map((s) => (s[0] === id ? seg : s));

describe('parseLoadTender', () => {
  it('reads the 4010 dry-van tender segment by segment', () => {
    const [t] = tenders(fixture('204-4010-tilde-newline.edi'));
    expect(t).toMatchObject({
      version: '4010',
      shipmentId: 'SH-784512',
      scac: 'FGAT',
      paymentMethod: 'PP',
      purpose: 'original',
      applicationType: 'LT',
      references: [
        { qualifier: 'PO', value: 'PO-1001' },
        { qualifier: 'BM', value: 'BOL-55321' },
      ],
      respondBy: { qualifier: '64', date: '20261130', time: '1700', timeCode: 'CT' },
      hazmat: false,
      notes: ['Driver checks in at gate 3'],
      equipment: [{ code: 'TL', number: 'TRL-5301' }],
      weight: { value: 42000, unit: 'L', qualifier: 'G' },
      rate: { rate: 2450, qualifier: 'FR', charge: 2450 },
    });
    expect(t?.parties[0]).toMatchObject({
      entity: 'BT',
      city: 'DALLAS',
      state: 'TX',
      street: ['100 COMMERCE ST'],
    });
    expect(t?.stops.map((s) => [s.sequence, s.reason, s.kind])).toEqual([
      [1, 'LD', 'pickup'],
      [2, 'UL', 'delivery'],
    ]);
    expect(t?.stops[1]?.parties[0]?.street).toEqual(['800 MAIN ST', 'SUITE 4']);
  });

  it.each(['204-4010-tilde-newline.edi', '204-4010-lf.edi', '204-4010-gs-byte.edi', '204-5010-ellipsis.edi'])(
    'maps %s to the same tender request (CT is daylight-aware: CST in December)',
    (name) => {
      const [t] = tenders(fixture(name));
      expect(loadTenderToTenderRequest(t as never)).toEqual({
        reference: 'SH-784512',
        origin: 'Dallas, TX',
        destination: 'Houston, TX',
        equipment: 'dry_van',
        weightKg: 19051,
        hazmat: false,
        pickupWindow: { start: '2026-12-01T14:00:00Z', end: '2026-12-01T18:00:00Z' },
        deliverBy: '2026-12-02T02:00:00Z',
      });
    },
  );

  it('maps the wrapped 5010 reefer (kilograms from AT8, UT times, UTF-8 names)', () => {
    const [t] = tenders(fixture('204-5010-bom-wrapped.edi'));
    expect(t?.stops[0]?.parties[0]?.name).toBe('Frío Foods Fort Worth');
    expect(loadTenderToTenderRequest(t as never)).toEqual({
      reference: 'FW-20261205-17',
      origin: 'Fort Worth, TX',
      destination: 'El Paso, TX',
      equipment: 'reefer',
      weightKg: 18000,
      hazmat: false,
      pickupWindow: { start: '2026-12-05T06:00:00Z', end: '2026-12-05T09:00:00Z' },
      deliverBy: '2026-12-06T14:00:00Z',
    });
  });

  it('maps the hazmat tanker; its LT times need the partner zone', () => {
    const [t] = tenders(fixture('204-5010-crlf-hazmat.edi'));
    expect(t?.hazmat).toBe(true);
    expect(t?.stops[0]?.hazmat).toBe(true);
    expect(t?.specialHandling).toEqual(['HM']);
    expect(failure(() => loadTenderToTenderRequest(t as never)).code).toBe('EDI_UNMAPPABLE');
    expect(loadTenderToTenderRequest(t as never, { localTimeZone: 'America/Chicago' })).toEqual({
      reference: 'HZ-3301',
      origin: 'Houston, TX',
      destination: 'Dallas, TX',
      equipment: 'tanker',
      weightKg: 13608,
      hazmat: true,
      pickupWindow: { start: '2026-12-03T06:00:00Z', end: '2026-12-04T05:59:00Z' },
      deliverBy: '2026-12-05T00:00:00Z',
    });
    expect(failure(() => loadTenderToTenderRequest(t as never, { localTimeZone: 'Mars/Base' })).code).toBe(
      'EDI_INVALID_ARGUMENT',
    );
  });

  it('feeds the gateway decision like a REST tender', () => {
    const [t] = tenders(fixture('204-4010-tilde-newline.edi'));
    const request = loadTenderToTenderRequest(t as never);
    const decision = decideTender(
      request,
      {
        lanes: [
          {
            id: 'DAL-HOU',
            origin: 'Dallas, TX',
            destination: 'Houston, TX',
            bidirectional: true,
            equipment: ['dry_van'],
          },
        ] as never,
        tendering: { maxWeightKg: 20000, hazmatAllowed: false } as never,
      },
      new Date('2026-11-30T12:00:00Z'),
    );
    expect(decision).toEqual({ decision: 'accepted', laneId: 'DAL-HOU', reasons: ['LANE_SERVED'] });
  });

  it.each([
    [
      'an impossible date (20230230)',
      replace('G62', ['G62', '37', '20230230', 'I', '0800', 'UT']),
      'EDI_INVALID_DATE',
      'G62',
      2,
    ],
    [
      'an impossible time',
      replace('G62', ['G62', '37', '20261201', 'I', '2561', 'UT']),
      'EDI_INVALID_TIME',
      'G62',
      4,
    ],
    [
      'an unknown time code',
      replace('G62', ['G62', '37', '20261201', 'I', '0800', 'XX']),
      'EDI_UNKNOWN_CODE',
      'G62',
      5,
    ],
    ['an unknown purpose', replace('B2A', ['B2A', '99']), 'EDI_UNKNOWN_CODE', 'B2A', 1],
    ['an unknown stop reason', replace('S5', ['S5', '1', 'ZZ']), 'EDI_UNKNOWN_CODE', 'S5', 2],
    [
      'an unknown equipment code',
      replace('N7', ['N7', '', 'T', '', '', '', '', '', '', '', '', 'QQ']),
      'EDI_UNKNOWN_CODE',
      'N7',
      11,
    ],
    ['an unknown weight unit', replace('S5', ['S5', '1', 'LD', '40000', 'X']), 'EDI_UNKNOWN_CODE', 'S5', 4],
    ['a non-numeric weight', replace('S5', ['S5', '1', 'LD', '4O000', 'L']), 'EDI_INVALID_NUMBER', 'S5', 3],
    ['a missing shipment id', replace('B2', ['B2', '', 'FGAT']), 'EDI_MISSING_ELEMENT', 'B2', 4],
  ] as const)('refuses %s with the segment and element', (_, body, code, segmentId, element) => {
    const e = failure(() => tenders(x12(body as string[][])));
    expect(e.code).toBe(code);
    expect(e.location).toMatchObject({ segmentId, element });
    expect(e.location.segmentInSet).toBeGreaterThan(1);
    expect(e.context.transactionSetControlNumber).toBe('0001');
  });

  it('refuses huge free text, unknown and misplaced segments, a tender without stops', () => {
    const withNote = (text: string) => [
      DRY_VAN_204[0],
      DRY_VAN_204[1],
      ['NTE', '', text],
      ...DRY_VAN_204.slice(2),
    ];
    expect(tenders(x12(withNote('x'.repeat(80)) as string[][]))[0]?.notes[0]).toHaveLength(80);
    expect(failure(() => tenders(x12(withNote('x'.repeat(81)) as string[][]))).code).toBe(
      'EDI_FREE_TEXT_TOO_LONG',
    );
    expect(failure(() => tenders(x12([...DRY_VAN_204, ['BEG', '00']]))).code).toBe('EDI_UNEXPECTED_SEGMENT');
    expect(failure(() => tenders(x12([DRY_VAN_204[1] as string[], DRY_VAN_204[0] as string[]]))).code).toBe(
      'EDI_MISSING_SEGMENT',
    );
    expect(failure(() => tenders(x12(DRY_VAN_204.slice(0, 3)))).code).toBe('EDI_MISSING_SEGMENT');
    expect(failure(() => tenders(x12([...DRY_VAN_204, ['L3', '1'], ['NTE', '', 'late']]))).code).toBe(
      'EDI_UNEXPECTED_SEGMENT',
    );
  });

  it('refuses to map what it cannot map exactly', () => {
    const [cancel] = tenders(x12(replace('B2A', ['B2A', '01'])));
    expect(failure(() => loadTenderToTenderRequest(cancel as never)).code).toBe('EDI_UNMAPPABLE');
    const [noEquipment] = tenders(x12(DRY_VAN_204.filter((s) => s[0] !== 'N7')));
    expect(failure(() => loadTenderToTenderRequest(noEquipment as never)).code).toBe('EDI_UNMAPPABLE');
    const [noDelivery] = tenders(x12(DRY_VAN_204.slice(0, 8)));
    expect(failure(() => loadTenderToTenderRequest(noDelivery as never)).code).toBe('EDI_UNMAPPABLE');
  });
});
