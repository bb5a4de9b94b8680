/**
 * Issue 6's "done when", in one journey on every engine: one partner (acme-tms, with an EDI identity and
 * a webhook endpoint) tenders one load by REST and one by an X12 204 upload; the operator's fleet events
 * take both through delivery. The partner gets, for the EDI load, a 997, a 990 accepting it and a 214 for
 * each step (parsed back by the codec, in order, each naming the load's shipment id), and for both loads a
 * signed webhook for every change through `delivered` (each verified with the endpoint's secret). Another
 * partner (globex-tms) gets none of it: no webhook, no outbox message, and neither load by id.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/webhooks/verify.ts';
import {
  bodyOf,
  nextIcn,
  outboundText,
  outbox,
  segment,
  startEdiApi,
  tender204,
  upload,
} from '../edi-channel/support.ts';
import { engines } from '../support/engines.ts';
import { type Receiver, startReceiver, until } from '../webhooks/support.ts';
import type { TenderApi } from './support.ts';
import { tender } from './support.ts';

const STEPS = ['dispatched', 'at_pickup', 'loaded', 'in_transit', 'at_delivery', 'delivered'] as const;

for (const engine of engines()) {
  describe(`a partner's journey by REST and EDI to delivery on ${engine.name}`, () => {
    let receiver: Receiver;
    let api: TenderApi;
    let secret: string;
    let restId: string;
    let ediId: string;
    const shipmentId = `SH-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      receiver = await startReceiver();
      const base = `https://localhost:${receiver.port}`;
      api = await startEdiApi(engine, (config) => {
        config.webhooks = {
          ...config.webhooks,
          pollIntervalMs: 50,
          allowPrivateAddresses: true,
          trustedCaFile: receiver.caPath,
        };
        for (const p of config.partners) {
          if (p.id === 'acme-tms') p.webhooks = { allowedUrls: [`${base}/acme/`] };
          if (p.id === 'globex-tms') p.webhooks = { allowedUrls: [`${base}/globex/`] };
        }
      });
      for (const who of ['acme-tms', 'globex-tms'] as const) {
        const created = await api.call(who, 'POST', '/v1/webhooks/endpoints', {
          url: `${base}/${who === 'acme-tms' ? 'acme' : 'globex'}/hooks`,
        });
        expect(created.status, created.text).toBe(201);
        if (who === 'acme-tms') secret = (created.json() as { secret: string }).secret;
      }

      const rest = await api.call(
        'acme-tms',
        'POST',
        '/v1/tenders',
        tender(`PO-${randomUUID().slice(0, 8)}`),
      );
      expect(rest.status, rest.text).toBe(201);
      expect(rest.json()).toMatchObject({ status: 'accepted' });
      restId = (rest.json() as { id: string }).id;

      const edi = await upload(api, 'acme-tms', tender204({ shipmentId, icn: nextIcn() }));
      expect(edi.status, edi.text).toBe(200);
      const set = (edi.json() as { sets: { tenderId: string; decision: string }[] }).sets[0];
      expect(set?.decision).toBe('accepted');
      ediId = set?.tenderId as string;

      for (const id of [restId, ediId]) {
        for (const event of STEPS) {
          const res = await api.call('ops-console', 'POST', `/v1/tenders/${id}/events`, {
            event,
            ...(event === 'dispatched' ? { vehicleId: 'TRK-001' } : {}),
          });
          expect(res.status, res.text).toBe(200);
        }
      }
      await api.t.gateway.edi.runOnce();
    }, 120_000);
    afterAll(async () => {
      await api?.stop();
      await receiver?.close();
    });

    it('gets a signed webhook for every change of both loads through delivery', async () => {
      const toOf = (id: string) =>
        receiver.received
          .filter((r) => r.path === '/acme/hooks')
          .map((r) => {
            verifyWebhook(secret, r.headers, r.body);
            return JSON.parse(r.body) as { type: string; data: { tenderId: string; to: string } };
          })
          .filter((e) => e.data.tenderId === id)
          .map((e) => e.data.to);
      for (const id of [restId, ediId]) {
        const seen = await until(() => {
          const to = toOf(id);
          return to.includes('delivered') ? to : undefined;
        });
        expect(seen).toEqual(['accepted', ...STEPS]);
      }
    });

    it('gets a 997, a 990 accepting the EDI load and a 214 for each step, in order', async () => {
      const items = await outbox(api, 'acme-tms');
      const types = items.filter((i) => i.tenderId === ediId || i.type === '997').map((i) => i.type);
      expect(types).toContain('997');
      expect(types.filter((t) => t === '990')).toHaveLength(1);
      const b1 = segment(
        bodyOf(await outboundText(api, 'acme-tms', items.find((i) => i.type === '990')?.id as string))
          .segments,
        'B1',
      );
      expect(b1[1]).toBe(shipmentId);
      expect(b1[3]).toBe('A');
      const statuses: string[] = [];
      for (const item of items.filter((i) => i.type === '214' && i.tenderId === ediId)) {
        const { segments } = bodyOf(await outboundText(api, 'acme-tms', item.id));
        expect(segment(segments, 'B10')[1]).toBe(shipmentId);
        statuses.push(segment(segments, 'AT7')[0] as string);
      }
      // dispatched AA, at_pickup X3, loaded CP + AF, in_transit X6, at_delivery X1, delivered D1.
      expect(statuses).toEqual(['AA', 'X3', 'CP', 'AF', 'X6', 'X1', 'D1']);
      // The REST load is not an EDI load: no 990/214 about it.
      expect(items.some((i) => i.tenderId === restId)).toBe(false);
    });

    it('tells another partner nothing about either load', async () => {
      expect(await outbox(api, 'globex-tms')).toEqual([]);
      expect(receiver.received.some((r) => r.path.startsWith('/globex/'))).toBe(false);
      for (const id of [restId, ediId]) {
        const read = await api.call('globex-tms', 'GET', `/v1/tenders/${id}`);
        expect(read.status).toBe(404);
        const tracking = await api.call('globex-tms', 'GET', `/v1/loads/${id}/tracking`);
        expect(tracking.status).toBe(404);
      }
      const mine = await api.call('acme-tms', 'GET', `/v1/tenders/${ediId}`);
      expect(mine.json()).toMatchObject({ status: 'delivered' });
    });
  });
}
