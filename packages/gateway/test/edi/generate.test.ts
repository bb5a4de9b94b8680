/** 997, 990 and 214 out: each round-trips through our own tokenizer and strict envelope validation. */
import { describe, expect, it } from 'vitest';
import { type OutboundEnvelope, replyEnvelope } from '../../src/edi/envelope.ts';
import { EdiError } from '../../src/edi/errors.ts';
import { generateShipmentStatus } from '../../src/edi/generate-214.ts';
import { generateTenderResponse } from '../../src/edi/generate-990.ts';
import { acknowledgeFailure, acknowledgeGroup, generateFunctionalAck } from '../../src/edi/generate-997.ts';
import { readLoadTenders } from '../../src/edi/parse-204.ts';
import { parseInterchange } from '../../src/edi/parse-interchange.ts';
import type { Interchange, Segment } from '../../src/edi/types.ts';
import { DRY_VAN_204, fixture, x12 } from './support.ts';

const NOW = new Date('2026-12-01T15:30:00Z');
const controls = { interchange: 7001, group: 71, transactionSet: 1 };

function reply(received: Interchange): OutboundEnvelope {
  return replyEnvelope(received, received.groups[0] as never, controls, NOW);
}

const body = (i: Interchange): string[][] =>
  (i.groups[0]?.transactionSets[0]?.body ?? []).map((s: Segment) => [s.id, ...s.elements]);

function failure(f: () => unknown): EdiError {
  try {
    f();
  } catch (e) {
    if (e instanceof EdiError) return e;
    throw e;
  }
  throw new Error('expected an EdiError');
}

describe('generators', () => {
  it.each([
    '204-4010-tilde-newline.edi',
    '204-5010-bom-wrapped.edi',
    '204-5010-crlf-hazmat.edi',
    '204-4010-gs-byte.edi',
    '204-5010-ellipsis.edi',
  ])('answer %s with a 997 in its version, delimiters and usage, sender and receiver swapped', (name) => {
    const received = parseInterchange(fixture(name));
    const out = generateFunctionalAck(acknowledgeGroup(received.groups[0] as never), reply(received));
    const ack = parseInterchange(out);
    expect(ack.version).toBe(received.version);
    expect(ack.delimiters).toEqual(received.delimiters);
    expect(ack.sender).toEqual(received.receiver);
    expect(ack.receiver).toEqual(received.sender);
    expect(ack.interchangeControlNumber).toBe('000007001');
    expect(ack.test).toBe(false);
    expect(ack.groups[0]).toMatchObject({
      functionalId: 'FA',
      controlNumber: '71',
      versionCode: received.groups[0]?.versionCode,
    });
    const ak1 = received.version === '5010' ? ['AK1', 'SM', '101', '005010'] : ['AK1', 'SM', '101'];
    expect(body(ack)).toEqual([ak1, ['AK2', '204', '0001'], ['AK5', 'A'], ['AK9', 'A', '1', '1', '1']]);
  });

  it('rejects a set in the 997 with AK3/AK4 locating the error, never echoing the bad value', () => {
    const received = parseInterchange(x12(DRY_VAN_204.map((s) => (s[0] === 'B2A' ? ['B2A', '99'] : s))));
    const error = failure(() => readLoadTenders(received));
    const ack = acknowledgeGroup(received.groups[0] as never, new Map([['0001', error]]));
    const out = parseInterchange(generateFunctionalAck(ack, reply(received)));
    expect(body(out)).toEqual([
      ['AK1', 'SM', '101'],
      ['AK2', '204', '0001'],
      ['AK3', 'B2A', '3', '', '8'],
      ['AK4', '1', '', '7'],
      ['AK5', 'R', '5'],
      ['AK9', 'R', '1', '1', '0'],
    ]);
  });

  it.each([
    [
      { se01: '9' },
      [
        ['AK2', '204', '0001'],
        ['AK5', 'R', '4'],
        ['AK9', 'R', '1', '1', '0'],
      ],
    ],
    [
      { se02: '0009' },
      [
        ['AK2', '204', '0001'],
        ['AK5', 'R', '3'],
        ['AK9', 'R', '1', '1', '0'],
      ],
    ],
    [{ ge01: '3' }, [['AK9', 'R', '0', '0', '0', '5']]],
    [{ ge02: '9' }, [['AK9', 'R', '0', '0', '0', '4']]],
  ] as const)('acknowledges an envelope failure %o from its context', (o, expected) => {
    const text = x12(undefined, o);
    const error = failure(() => parseInterchange(text));
    const ack = acknowledgeFailure(error);
    expect(ack).toBeDefined();
    const env = reply(parseInterchange(x12()));
    expect(body(parseInterchange(generateFunctionalAck(ack as never, env)))).toEqual([
      ['AK1', 'SM', '101'],
      ...expected,
    ]);
  });

  it('has no 997 for a failure outside any group', () => {
    expect(
      acknowledgeFailure(failure(() => parseInterchange(x12(undefined, { iea01: '5' })))),
    ).toBeUndefined();
  });

  it('generates a 990 accept and a 990 decline with reasons, in the test usage of a test 204', () => {
    const received = parseInterchange(x12(undefined, { usage: 'T', version: '5010' }));
    const env = reply(received);
    const accept = parseInterchange(
      generateTenderResponse(
        {
          shipmentId: 'SH-1',
          scac: 'FGAT',
          decision: 'accept',
          decidedAt: NOW,
          references: [{ qualifier: 'CN', value: 'tnd_42' }],
        },
        env,
      ),
    );
    expect(accept.test).toBe(true);
    expect(accept.groups[0]?.functionalId).toBe('GF');
    expect(body(accept)).toEqual([
      ['B1', 'FGAT', 'SH-1', '20261201', 'A'],
      ['N9', 'CN', 'tnd_42'],
    ]);
    const decline = parseInterchange(
      generateTenderResponse(
        {
          shipmentId: 'SH-1',
          scac: 'FGAT',
          decision: 'decline',
          decidedAt: NOW,
          reasons: ['LANE_NOT_SERVED', 'OVERWEIGHT'],
        },
        env,
      ),
    );
    expect(body(decline)).toEqual([
      ['B1', 'FGAT', 'SH-1', '20261201', 'D'],
      ['K1', 'LANE_NOT_SERVED'],
      ['K1', 'OVERWEIGHT'],
    ]);
    expect(
      failure(() =>
        generateTenderResponse(
          { shipmentId: 'SH-1', scac: 'FGAT', decision: 'decline', decidedAt: NOW },
          env,
        ),
      ).code,
    ).toBe('EDI_INVALID_ARGUMENT');
  });

  it('refuses a delimiter inside data instead of escaping it (segment injection)', () => {
    const env = reply(parseInterchange(x12()));
    for (const reason of ['X~ST*204*9', 'A*B', 'A>B', 'line\nbreak']) {
      const e = failure(() =>
        generateTenderResponse(
          { shipmentId: 'SH-1', scac: 'FGAT', decision: 'decline', decidedAt: NOW, reasons: [reason] },
          env,
        ),
      );
      expect(e.code).toBe('EDI_INVALID_ARGUMENT');
      expect(e.message).not.toContain(reason);
    }
  });

  it.each([
    ['X3', 'CT', '20261201', '0930'],
    ['AF', 'CT', '20261201', '0930'],
    ['X1', 'UT', '20261201', '1530'],
    ['D1', 'ET', '20261201', '1030'],
    ['X6', 'PS', '20261201', '0730'],
    ['SD', '16', '20261201', '0630'],
  ] as const)('generates a 214 with AT7 %s in time code %s', (status, timeCode, date, time) => {
    const received = parseInterchange(fixture('204-4010-tilde-newline.edi'));
    const [tender] = readLoadTenders(received);
    const out = parseInterchange(
      generateShipmentStatus(
        {
          carrierReference: 'tnd_42',
          shipmentId: tender?.shipmentId as string,
          scac: 'FGAT',
          status,
          ...(status === 'SD' ? { reason: 'AI' as const } : {}),
          at: NOW,
          timeCode,
          location: { city: 'DALLAS', state: 'TX', country: 'US' },
          equipmentNumber: 'TRK-001',
          references: [{ qualifier: 'PO', value: 'PO-1001' }],
        },
        reply(received),
      ),
    );
    expect(out.groups[0]?.functionalId).toBe('QM');
    expect(body(out)).toEqual([
      ['B10', 'tnd_42', 'SH-784512', 'FGAT'],
      ['L11', 'PO-1001', 'PO'],
      ['LX', '1'],
      ['AT7', status, status === 'SD' ? 'AI' : 'NS', '', '', date, time, timeCode],
      ['MS1', 'DALLAS', 'TX', 'US'],
      ['MS2', 'FGAT', 'TRK-001'],
    ]);
  });

  it('refuses unknown status codes, unknown reasons and local time in a 214', () => {
    const env = reply(parseInterchange(x12()));
    const base = { carrierReference: 'tnd_1', shipmentId: 'SH-1', scac: 'FGAT', at: NOW, timeCode: 'UT' };
    expect(failure(() => generateShipmentStatus({ ...base, status: 'ZZ' as 'X1' }, env)).code).toBe(
      'EDI_UNKNOWN_CODE',
    );
    expect(
      failure(() => generateShipmentStatus({ ...base, status: 'X1', reason: 'QQ' as 'NS' }, env)).code,
    ).toBe('EDI_UNKNOWN_CODE');
    expect(failure(() => generateShipmentStatus({ ...base, status: 'X1', timeCode: 'LT' }, env)).code).toBe(
      'EDI_INVALID_ARGUMENT',
    );
    expect(failure(() => generateShipmentStatus({ ...base, status: '__proto__' as 'X1' }, env)).code).toBe(
      'EDI_UNKNOWN_CODE',
    );
  });

  it('refuses control numbers out of range and ids that do not fit the ISA', () => {
    const env = reply(parseInterchange(x12()));
    const r = { shipmentId: 'SH-1', scac: 'FGAT', decision: 'accept' as const, decidedAt: NOW };
    for (const bad of [0, -1, 1.5, 1_000_000_000]) {
      const e = failure(() =>
        generateTenderResponse(r, { ...env, controlNumbers: { ...controls, interchange: bad } }),
      );
      expect(e.code).toBe('EDI_INVALID_ARGUMENT');
    }
    const long = { ...env, sender: { qualifier: 'ZZ', id: 'X'.repeat(16) } };
    expect(failure(() => generateTenderResponse(r, long)).code).toBe('EDI_INVALID_ARGUMENT');
  });
});
