/**
 * The EDI channel over HTTPS (issue 6 §6, §7), against a real gateway with real mTLS and bound tokens, on
 * every engine: a 4010 and a 5010 204 become tenders with a 997 at once and a 990 from the lifecycle
 * consumer; the tender driven through delivery by fleet events yields one 214 per step, in order, each
 * read back by the codec; a replayed ISA13, a foreign sender id and a broken file are refused with codes
 * (and audited); ISA15=T is answered from the sandbox and creates nothing; partner A can neither cancel
 * nor read partner B's tender by reference or B's messages by outbox id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carrierReference } from '../../src/edi-channel/settings.ts';
import { withOperator } from '../../src/tendering/tenant-scope.ts';
import { engines } from '../support/engines.ts';
import type { TenderApi } from '../tendering/support.ts';
import {
  bodyOf,
  nextIcn,
  type OutboxItem,
  outboundText,
  outbox,
  segment,
  startEdiApi,
  tender204,
  upload,
} from './support.ts';

interface SetResult {
  outcome: string;
  tenderId: string | null;
  decision: string | null;
  reasons: string[];
  receipt: { auditIndex: number } | null;
  shipmentId: string | null;
}

const ship = () => `SH-${Math.random().toString(36).slice(2, 10).toUpperCase()}`;

for (const engine of engines()) {
  describe(`EDI channel over HTTPS on ${engine.name}`, () => {
    let api: TenderApi;

    beforeAll(async () => {
      api = await startEdiApi(engine);
    });
    afterAll(async () => {
      await api?.stop();
    });

    const newItems = async (who: 'acme-tms' | 'globex-tms', before: OutboxItem[]) => {
      const seen = new Set(before.map((i) => i.id));
      return (await outbox(api, who)).filter((i) => !seen.has(i.id));
    };

    it('turns a 4010 204 into a tender, answers 997 and 990, then one 214 per lifecycle step', async () => {
      const shipmentId = ship();
      const before = await outbox(api, 'acme-tms');
      const answer = await upload(api, 'acme-tms', tender204({ shipmentId, icn: nextIcn() }));
      expect(answer.status, answer.text).toBe(200);
      const result = answer.json() as { sets: SetResult[]; acknowledgments: { x12: string; id: string }[] };
      expect(result.sets).toHaveLength(1);
      const [set] = result.sets;
      expect(set).toMatchObject({ outcome: 'created', decision: 'accepted', shipmentId });
      expect(set?.receipt?.auditIndex).toBeGreaterThan(0);
      const tenderId = set?.tenderId as string;
      const tender = await api.call('acme-tms', 'GET', `/v1/tenders/${tenderId}`);
      expect(tender.json()).toMatchObject({ reference: shipmentId, status: 'accepted' });

      // The 997 in the answer and in the outbox: AK9 A, AK5 A, in 4010 (AK1 without GS08).
      const ack = bodyOf(result.acknowledgments[0]?.x12 as string);
      expect(ack.functionalId).toBe('FA');
      expect(segment(ack.segments, 'AK1')).toEqual(['SM', '7']);
      expect(segment(ack.segments, 'AK5')).toEqual(['A']);
      expect(segment(ack.segments, 'AK9')[0]).toBe('A');
      expect(await outboundText(api, 'acme-tms', result.acknowledgments[0]?.id as string)).toBe(
        result.acknowledgments[0]?.x12,
      );

      await api.t.gateway.edi.runOnce();
      const decided = await newItems('acme-tms', before);
      expect(decided.map((i) => i.type)).toEqual(['997', '990']);
      const b1 = segment(
        bodyOf(await outboundText(api, 'acme-tms', decided[1]?.id as string)).segments,
        'B1',
      );
      expect([b1[0], b1[1], b1[3]]).toEqual(['FGAT', shipmentId, 'A']);
      expect(decided[1]?.tenderId).toBe(tenderId);

      const steps: [string, Record<string, string>][] = [
        ['dispatched', { vehicleId: 'TRK-001' }],
        ['at_pickup', {}],
        ['loaded', {}],
        ['in_transit', {}],
        ['at_delivery', {}],
        ['delivered', {}],
      ];
      const afterDecision = await outbox(api, 'acme-tms');
      for (const [event, extra] of steps) {
        const moved = await api.call('ops-console', 'POST', `/v1/tenders/${tenderId}/events`, {
          event,
          ...extra,
        });
        expect(moved.status, moved.text).toBe(200);
      }
      await api.t.gateway.edi.runOnce();
      const statuses = await newItems('acme-tms', afterDecision);
      expect(statuses.every((i) => i.type === '214' && i.tenderId === tenderId)).toBe(true);
      const at7: string[] = [];
      for (const item of statuses) {
        const status = bodyOf(await outboundText(api, 'acme-tms', item.id));
        expect(status.functionalId).toBe('QM');
        const b10 = segment(status.segments, 'B10');
        expect([b10[1], b10[2]]).toEqual([shipmentId, 'FGAT']);
        const a = segment(status.segments, 'AT7');
        expect(a[6]).toBe('UT');
        at7.push(`${a[0]}/${a[1]}`);
      }
      expect(at7).toEqual(['AA/NS', 'X3/NS', 'CP/NS', 'AF/NS', 'X6/NS', 'X1/NS', 'D1/NS']);
      // Control numbers are never reused: every outbound ISA13 of this partner is distinct.
      const all = await outbox(api, 'acme-tms');
      expect(new Set(all.map((i) => i.controlNumber)).size).toBe(all.length);
    });

    it('reads a 5010 204 and answers in 5010', async () => {
      const shipmentId = ship();
      const answer = await upload(
        api,
        'acme-tms',
        tender204({ shipmentId, icn: nextIcn(), version: '5010' }),
      );
      expect(answer.status, answer.text).toBe(200);
      const result = answer.json() as {
        version: string;
        sets: SetResult[];
        acknowledgments: { x12: string }[];
      };
      expect(result.version).toBe('5010');
      expect(result.sets[0]).toMatchObject({ outcome: 'created', decision: 'accepted' });
      expect(segment(bodyOf(result.acknowledgments[0]?.x12 as string).segments, 'AK1')).toEqual([
        'SM',
        '7',
        '005010',
      ]);
      await api.t.gateway.edi.runOnce();
      const mine = (await outbox(api, 'acme-tms')).filter((i) => i.tenderId === result.sets[0]?.tenderId);
      expect(mine.map((i) => i.type)).toEqual(['990']);
      expect((await outboundText(api, 'acme-tms', mine[0]?.id as string)).slice(0, 106)).toContain('*00501*');
    });

    it('refuses a replayed ISA13 with 409 and creates nothing twice', async () => {
      const icn = nextIcn();
      const shipmentId = ship();
      expect((await upload(api, 'acme-tms', tender204({ shipmentId, icn }))).status).toBe(200);
      const fromIndex = await api.t.auditSize();
      const again = await upload(api, 'acme-tms', tender204({ shipmentId: ship(), icn }));
      expect(again.status).toBe(409);
      expect(again.json()).toMatchObject({ code: 'EDI_INTERCHANGE_DUPLICATE' });
      const refused = (await api.t.auditSince(fromIndex)).filter(
        (e) => e.class === 'edi.interchange.refused',
      );
      expect(refused).toHaveLength(1);
      expect(refused[0]?.reasons).toEqual(['EDI_INTERCHANGE_DUPLICATE']);
      const rows = await withOperator(api.t.gateway.store, (tx) =>
        tx.query('SELECT id FROM tenders WHERE partner_id = $1 AND reference = $2', ['acme-tms', shipmentId]),
      );
      expect(rows).toHaveLength(1);
    });

    it('answers ISA15=T from the sandbox: 997 and 990 with ISA15=T, no tender, audited as sandbox', async () => {
      const shipmentId = ship();
      const fromIndex = await api.t.auditSize();
      const answer = await upload(api, 'acme-tms', tender204({ shipmentId, icn: nextIcn(), usage: 'T' }));
      expect(answer.status, answer.text).toBe(200);
      const result = answer.json() as {
        sandbox: boolean;
        sets: SetResult[];
        acknowledgments: { x12: string }[];
        tenderResponses: { x12: string }[];
      };
      expect(result.sandbox).toBe(true);
      expect(result.sets[0]).toMatchObject({ outcome: 'sandbox', decision: 'accepted', tenderId: null });
      expect(bodyOf(result.acknowledgments[0]?.x12 as string).test).toBe(true);
      const response = bodyOf(result.tenderResponses[0]?.x12 as string);
      expect(response.test).toBe(true);
      expect(segment(response.segments, 'B1')[3]).toBe('A');
      const rows = await withOperator(api.t.gateway.store, (tx) =>
        tx.query('SELECT id FROM tenders WHERE reference = $1', [shipmentId]),
      );
      expect(rows).toEqual([]);
      const classes = (await api.t.auditSince(fromIndex)).map((e) => e.class);
      expect(classes).toContain('edi.interchange.sandbox');
      expect(classes).not.toContain('tender.decided');
      const sandboxed = (await outbox(api, 'acme-tms')).filter((i) => i.sandbox);
      expect(sandboxed.length).toBeGreaterThanOrEqual(2);
    });

    it('refuses an interchange whose sender or receiver is not the partner and us', async () => {
      const fromIndex = await api.t.auditSize();
      const asGlobex = await upload(
        api,
        'acme-tms',
        tender204({ shipmentId: ship(), icn: nextIcn(), sender: 'GLOBEXTMS' }),
      );
      expect(asGlobex.status).toBe(403);
      expect(asGlobex.json()).toMatchObject({ code: 'EDI_SENDER_MISMATCH' });
      const elsewhere = await upload(
        api,
        'acme-tms',
        tender204({ shipmentId: ship(), icn: nextIcn(), receiver: 'OTHERCARRIER' }),
      );
      expect(elsewhere.json()).toMatchObject({ code: 'EDI_SENDER_MISMATCH' });
      const refused = (await api.t.auditSince(fromIndex)).filter(
        (e) => e.class === 'edi.interchange.refused',
      );
      expect(refused.map((e) => (e.details as { mismatch: string }).mismatch)).toEqual([
        'ISA05/ISA06',
        'ISA07/ISA08',
      ]);
    });

    it('refuses a broken file with the codec code and a 997 R; JSON is 415', async () => {
      const x12 = tender204({ shipmentId: ship(), icn: nextIcn() }).replace(/SE\*14\*0001/, 'SE*9*0001');
      const answer = await upload(api, 'acme-tms', x12);
      expect(answer.status).toBe(400);
      const problem = answer.json() as { code: string; ediCode: string; acknowledgment: { x12: string } };
      expect(problem.code).toBe('EDI_INTERCHANGE_INVALID');
      expect(problem.ediCode).toBe('EDI_CONTROL_COUNT_MISMATCH');
      const ack = bodyOf(problem.acknowledgment.x12);
      expect(segment(ack.segments, 'AK5')).toEqual(['R', '4']);
      const json = await api.call('acme-tms', 'POST', '/v1/edi/interchanges', { isa: 'x' });
      expect(json.status).toBe(415);
    });

    it('rejects a change (B2A01 04) in the 997 and cancels the partner own tender on B2A01 01', async () => {
      const shipmentId = ship();
      const created = (await upload(api, 'acme-tms', tender204({ shipmentId, icn: nextIcn() }))).json() as {
        sets: SetResult[];
      };
      const change = (
        await upload(api, 'acme-tms', tender204({ shipmentId, icn: nextIcn(), purpose: '04' }))
      ).json() as {
        sets: SetResult[];
        acknowledgments: { x12: string }[];
      };
      expect(change.sets[0]).toMatchObject({ outcome: 'rejected', reasons: ['EDI_CHANGE_NOT_SUPPORTED'] });
      const ack = bodyOf(change.acknowledgments[0]?.x12 as string).segments;
      expect(segment(ack, 'AK3')[0]).toBe('B2A');
      expect(segment(ack, 'AK9')[0]).toBe('R');
      const cancel = (
        await upload(api, 'acme-tms', tender204({ shipmentId, icn: nextIcn(), purpose: '01' }))
      ).json() as {
        sets: SetResult[];
      };
      expect(cancel.sets[0]).toMatchObject({ outcome: 'cancelled', tenderId: created.sets[0]?.tenderId });
      const view = await api.call('acme-tms', 'GET', `/v1/tenders/${created.sets[0]?.tenderId}`);
      expect(view.json().status).toBe('cancelled');
    });

    it("never touches or reveals partner B's tender to partner A: by reference, by outbox id (BOLA)", async () => {
      const shipmentId = ship();
      const globexBefore = await outbox(api, 'globex-tms');
      const theirs = (
        await upload(api, 'globex-tms', tender204({ shipmentId, icn: nextIcn(), sender: 'GLOBEXTMS' }))
      ).json() as {
        sets: SetResult[];
      };
      const theirTender = theirs.sets[0]?.tenderId as string;
      expect(theirs.sets[0]?.outcome).toBe('created');
      await api.t.gateway.edi.runOnce();

      // A cancels "B's" shipment id: not found for A, B's tender unchanged.
      const cancel = (
        await upload(api, 'acme-tms', tender204({ shipmentId, icn: nextIcn(), purpose: '01' }))
      ).json() as {
        sets: SetResult[];
      };
      expect(cancel.sets[0]).toMatchObject({
        outcome: 'not_found',
        tenderId: null,
        reasons: ['TENDER_NOT_FOUND'],
      });
      expect((await api.call('globex-tms', 'GET', `/v1/tenders/${theirTender}`)).json().status).toBe(
        'accepted',
      );

      // B's tender moves on; its 990 and 214 go to B only.
      await api.call('ops-console', 'POST', `/v1/tenders/${theirTender}/events`, {
        event: 'dispatched',
        vehicleId: 'TRK-002',
      });
      await api.t.gateway.edi.runOnce();
      const globexNew = await newItems('globex-tms', globexBefore);
      expect(globexNew.map((i) => `${i.type}:${i.tenderId ?? '-'}`)).toEqual([
        '997:-',
        `990:${theirTender}`,
        `214:${theirTender}`,
      ]);
      const acmeAll = await outbox(api, 'acme-tms');
      expect(acmeAll.some((i) => i.tenderId === theirTender)).toBe(false);
      for (const item of acmeAll) {
        const text = await outboundText(api, 'acme-tms', item.id);
        expect(text).not.toContain(shipmentId);
        expect(text).not.toContain(carrierReference(theirTender));
      }

      // By outbox id: B's message is answered to A exactly like a missing one.
      const strip = (text: string) => {
        const { instance: _i, ...rest } = JSON.parse(text) as Record<string, unknown>;
        return rest;
      };
      const foreign = await api.call('acme-tms', 'GET', `/v1/edi/outbound/${globexNew[1]?.id}`);
      const missing = await api.call('acme-tms', 'GET', '/v1/edi/outbound/999999999');
      expect(foreign.status).toBe(404);
      expect(strip(foreign.text)).toEqual(strip(missing.text));
      expect(strip(foreign.text)).toMatchObject({ code: 'EDI_OUTBOUND_NOT_FOUND' });
    });
  });
}
