/**
 * The lifecycle feed (tendering/lifecycle-feed.ts) that webhooks and EDI 990/214 consume: every status
 * change of every tenant's tenders, in audit-index order, each naming its own partner; pages end on whole
 * audit indices whatever the limit, so a consumer walking the feed with its cursor sees every change
 * exactly once; a cursor never moves backwards.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LifecycleChange,
  readCursor,
  readLifecycleFeed,
  saveCursor,
} from '../../src/tendering/lifecycle-feed.ts';
import { engines } from '../support/engines.ts';
import { startTenderApi, type TenderApi, tender } from './support.ts';

const ref = () => `PO-${randomUUID().slice(0, 8)}`;

for (const engine of engines()) {
  describe(`lifecycle feed on ${engine.name}`, () => {
    let api: TenderApi;
    const created: { id: string; partner: string }[] = [];

    beforeAll(async () => {
      api = await startTenderApi(engine, (config) => {
        config.tenderEngine.laneDistanceKm = { 'DAL-HOU': 385 };
        config.tenderEngine.fleetSize = 1000;
      });
      for (const who of ['acme-tms', 'globex-tms', 'acme-tms'] as const) {
        const res = await api.call(who, 'POST', '/v1/tenders', tender(ref()));
        expect(res.status, res.text).toBe(201);
        created.push({ id: (res.json() as { id: string }).id, partner: who });
      }
      const first = created[0]?.id as string;
      for (const body of [
        { event: 'dispatched', vehicleId: 'TRK-001' },
        { event: 'at_pickup' },
        { event: 'loaded' },
      ]) {
        const res = await api.call('ops-console', 'POST', `/v1/tenders/${first}/events`, body);
        expect(res.status, res.text).toBe(200);
      }
      const res = await api.call('globex-tms', 'POST', `/v1/tenders/${created[1]?.id}/cancel`, {
        reason: 'shipper cancelled',
      });
      expect(res.status, res.text).toBe(200);
    });
    afterAll(async () => {
      await api?.stop();
    });

    const walk = async (limit: number): Promise<LifecycleChange[]> => {
      const seen: LifecycleChange[] = [];
      let cursor = -1;
      for (let round = 0; round < 100; round++) {
        const page = await readLifecycleFeed(api.t.gateway.store, cursor, limit);
        if (page.length === 0) return seen;
        seen.push(...page);
        cursor = page.at(-1)?.auditIndex ?? cursor;
      }
      throw new Error('the feed did not end');
    };

    it('lists every change of every tenant once, in audit order, naming its partner', async () => {
      const all = await walk(1000);
      const ours = all.filter((c) => created.some((t) => t.id === c.tenderId));
      // 3 tenders × (received + decision), 3 fleet events, 1 cancellation.
      expect(ours).toHaveLength(10);
      for (const c of ours) {
        expect(c.partnerId).toBe(created.find((t) => t.id === c.tenderId)?.partner);
        expect(c.tenant).toBe(c.partnerId === 'acme-tms' ? 'acme' : 'globex');
      }
      const indices = all.map((c) => c.auditIndex);
      expect(indices).toEqual([...indices].sort((a, b) => a - b));
      expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
      const first = ours.filter((c) => c.tenderId === created[0]?.id).map((c) => c.to);
      expect(first).toEqual(['received', 'accepted', 'dispatched', 'at_pickup', 'loaded']);
      const dispatched = ours.find((c) => c.to === 'dispatched');
      expect(dispatched?.vehicleId).toBe('TRK-001');
      expect(ours.find((c) => c.to === 'cancelled')?.reason).toBe('shipper cancelled');
    });

    it('pages on whole audit indices whatever the limit: a walk with limit 1 sees the same changes', async () => {
      const whole = await walk(1000);
      for (const limit of [1, 2, 3]) {
        const paged = await walk(limit);
        expect(paged.map((c) => c.id)).toEqual(whole.map((c) => c.id));
      }
      // A new tender writes two rows under one index: a page of one row still returns both.
      const page = await readLifecycleFeed(api.t.gateway.store, -1, 1);
      expect(page.length).toBeGreaterThanOrEqual(1);
      expect(new Set(page.map((c) => c.auditIndex)).size).toBe(1);
    });

    it('keeps a durable cursor that only moves forward', async () => {
      const store = api.t.gateway.store;
      const name = `test-${randomUUID()}`;
      expect(await readCursor(store, name)).toBe(-1);
      await saveCursor(store, name, 7, new Date());
      expect(await readCursor(store, name)).toBe(7);
      await saveCursor(store, name, 3, new Date());
      expect(await readCursor(store, name)).toBe(7);
      await saveCursor(store, name, 12, new Date());
      expect(await readCursor(store, name)).toBe(12);
    });
  });
}
