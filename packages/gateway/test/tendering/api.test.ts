/**
 * The tender API v1 against a real gateway on every engine: create (with receipts that name real audit
 * entries), the lifecycle through delivery with its status history, illegal transitions (409, audited),
 * cancellation, Idempotency-Key replay and conflict, paging of the tenant's own tenders, the human review
 * queue with reasons required, and mass assignment refused by the schemas.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { startTenderApi, type TenderApi, tender } from './support.ts';

const ref = () => `PO-${randomUUID().slice(0, 8)}`;

for (const engine of engines()) {
  describe(`tender API v1 on ${engine.name}`, () => {
    let api: TenderApi;

    beforeAll(async () => {
      api = await startTenderApi(engine, (config) => {
        config.tenderEngine.laneDistanceKm = { 'DAL-HOU': 385 };
        config.tenderEngine.fleetSize = 1000;
      });
    });
    afterAll(async () => {
      await api?.stop();
    });

    const auditEntry = async (index: number) => {
      const [row] = await api.t.gateway.store.query<{ entry: string }>(
        'SELECT entry FROM audit_entries WHERE idx = $1',
        [String(index)],
      );
      return JSON.parse(row?.entry ?? 'null') as Record<string, unknown>;
    };

    it('creates a tender whose receipt names its audit entry, and reads it back', async () => {
      const body = tender(ref(), {
        rate: { amountCents: 185_000, currency: 'USD' },
        references: [{ qualifier: 'PO', value: 'ACME-7781' }],
      });
      const res = await api.call('acme-tms', 'POST', '/v1/tenders', body);
      expect(res.status, res.text).toBe(201);
      const created = res.json() as { id: string; status: string; receipt: { auditIndex: number } };
      expect(created.status).toBe('accepted');
      expect(res.headers.location).toBe(`/v1/tenders/${created.id}`);
      const entry = await auditEntry(created.receipt.auditIndex);
      expect(entry).toMatchObject({ class: 'tender.decided', subject: { kind: 'tender', id: created.id } });
      const read = await api.call('acme-tms', 'GET', `/v1/tenders/${created.id}`);
      expect(read.status).toBe(200);
      expect(read.json()).toMatchObject({
        id: created.id,
        status: 'accepted',
        rate: { amountCents: 185_000, currency: 'USD' },
        references: [{ qualifier: 'PO', value: 'ACME-7781' }],
        receipt: created.receipt,
        vehicleId: null,
      });
      expect(read.json()).not.toHaveProperty('tenantId');
    });

    it('walks the lifecycle to delivered, each step audited and in the history; illegal steps are 409', async () => {
      const id = (await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
      const event = (body: Record<string, unknown>) =>
        api.call('ops-console', 'POST', `/v1/tenders/${id}/events`, body);
      // Delivered before anything else, and dispatch without a fleet vehicle: refused.
      const early = await event({ event: 'delivered' });
      expect({ status: early.status, code: early.json().code }).toEqual({
        status: 409,
        code: 'TENDER_TRANSITION_ILLEGAL',
      });
      const noTruck = await event({ event: 'dispatched', vehicleId: 'TRK-999' });
      expect(noTruck.json().code).toBe('TENDER_VEHICLE_UNKNOWN');
      const steps = ['at_pickup', 'loaded', 'delayed', 'resumed', 'in_transit', 'at_delivery', 'delivered'];
      const dispatched = await event({ event: 'dispatched', vehicleId: 'TRK-001' });
      expect(dispatched.json()).toMatchObject({ status: 'dispatched', vehicleId: 'TRK-001' });
      let last = dispatched.json().receipt as { auditIndex: number };
      for (const step of steps) {
        const res = await event({ event: step });
        expect(res.status, `${step}: ${res.text}`).toBe(200);
        const receipt = res.json().receipt as { auditIndex: number };
        expect(receipt.auditIndex).toBeGreaterThan(last.auditIndex);
        expect(await auditEntry(receipt.auditIndex)).toMatchObject({ class: 'tender.transitioned' });
        last = receipt;
      }
      const after = await api.call('acme-tms', 'GET', `/v1/tenders/${id}`);
      expect(after.json().status).toBe('delivered');
      // Final: nothing moves it, not even a cancellation; the refusal is audited.
      const cancel = await api.call('acme-tms', 'POST', `/v1/tenders/${id}/cancel`, {});
      expect({ status: cancel.status, code: cancel.json().code }).toEqual({
        status: 409,
        code: 'TENDER_TRANSITION_ILLEGAL',
      });
      const refused = await api.t.auditSince(last.auditIndex + 1);
      expect(refused.some((e) => e.class === 'tender.transition-refused')).toBe(true);
      const tracking = await api.call('acme-tms', 'GET', `/v1/loads/${id}/tracking`);
      expect(tracking.status, tracking.text).toBe(200);
      const history = tracking.json().history as { from: string | null; to: string }[];
      expect(history.map((h) => h.to)).toEqual([
        'received',
        'accepted',
        'dispatched',
        'at_pickup',
        'loaded',
        'delayed',
        'loaded',
        'in_transit',
        'at_delivery',
        'delivered',
      ]);
      expect(tracking.json().eta).toBeNull();
    });

    it('lets the partner cancel before loading, not after', async () => {
      const a = (await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
      const cancelled = await api.call('acme-tms', 'POST', `/v1/tenders/${a}/cancel`, {
        reason: 'shipper cancelled',
      });
      expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
      const b = (await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
      for (const event of ['dispatched', 'at_pickup', 'loaded']) {
        await api.call('ops-console', 'POST', `/v1/tenders/${b}/events`, { event, vehicleId: 'TRK-002' });
      }
      const late = await api.call('acme-tms', 'POST', `/v1/tenders/${b}/cancel`, {});
      expect(late.status).toBe(409);
    });

    it('replays an Idempotency-Key for the same body and refuses it for another (per client)', async () => {
      const key = randomUUID();
      const body = tender(ref());
      const first = await api.call('acme-tms', 'POST', '/v1/tenders', body, { 'idempotency-key': key });
      expect(first.status).toBe(201);
      // Same body, keys in another order: the same response, replayed.
      const reordered = Object.fromEntries(Object.entries(body).reverse());
      const again = await api.call('acme-tms', 'POST', '/v1/tenders', reordered, { 'idempotency-key': key });
      expect(again.status).toBe(201);
      expect(again.json()).toEqual(first.json());
      expect(again.headers['idempotent-replayed']).toBe('true');
      const other = await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()), {
        'idempotency-key': key,
      });
      expect({ status: other.status, code: other.json().code }).toEqual({
        status: 422,
        code: 'TENDER_IDEMPOTENCY_KEY_REUSED',
      });
      // Another client's same key is its own.
      const globex = await api.call('globex-tms', 'POST', '/v1/tenders', tender(ref()), {
        'idempotency-key': key,
      });
      expect(globex.status).toBe(201);
      expect(globex.json().id).not.toBe(first.json().id);
      const [count] = await api.t.gateway.store.query<{ n: string }>(
        'SELECT count(*) AS n FROM tenders WHERE reference = $1',
        [body.reference as string],
      );
      expect(count?.n).toBe('1');
      const bad = await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()), {
        'idempotency-key': 'with space',
      });
      expect(bad.json().code).toBe('REQUEST_INVALID');
    });

    it("pages the partner's own tenders by status, newest first", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        ids.push((await api.call('globex-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
        const res = await api.call('globex-tms', 'GET', `/v1/tenders?status=accepted&limit=2${q}`);
        expect(res.status, res.text).toBe(200);
        const page = res.json() as { items: { id: string; status: string }[]; nextCursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(2);
        for (const item of page.items) expect(item.status).toBe('accepted');
        seen.push(...page.items.map((i) => i.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen.slice(0, 3)).toEqual([...ids].reverse());
      expect(new Set(seen).size).toBe(seen.length);
      const bad = await api.call('globex-tms', 'GET', '/v1/tenders?cursor=nope');
      expect(bad.json().code).toBe('TENDER_CURSOR_INVALID');
      const coerced = await api.call('globex-tms', 'GET', '/v1/tenders?limit=1000');
      expect(coerced.json().code).toBe('REQUEST_INVALID');
    });

    it('sends undecidable tenders to the review queue; operators decide with a required reason', async () => {
      // FTW-ELP has no configured distance here: feasibility unknown → human review.
      const body = tender(ref(), { origin: 'Fort Worth, TX', destination: 'El Paso, TX' });
      const created = await api.call('acme-tms', 'POST', '/v1/tenders', body);
      expect(created.json()).toMatchObject({
        status: 'pending_review',
        reasonCodes: ['REVIEW_LANE_DISTANCE_UNKNOWN'],
      });
      const id = created.json().id as string;
      const queue = await api.call('ops-console', 'GET', '/v1/review/tenders?limit=100');
      expect(queue.status, queue.text).toBe(200);
      const item = (queue.json().items as { id: string; tenantId: string }[]).find((i) => i.id === id);
      expect(item?.tenantId).toBe('acme');
      // Partners cannot see the queue or decide.
      expect((await api.call('acme-tms', 'GET', '/v1/review/tenders')).status).toBe(403);
      const decide = (body: unknown) =>
        api.call('ops-console', 'POST', `/v1/review/tenders/${id}/decision`, body);
      for (const noReason of [{ decision: 'accept' }, { decision: 'accept', reason: '   ' }]) {
        const res = await decide(noReason);
        expect({ status: res.status, code: res.json().code }).toEqual({
          status: 422,
          code: 'TENDER_REASON_REQUIRED',
        });
      }
      const accepted = await decide({ decision: 'accept', reason: 'checked the El Paso route by hand' });
      expect(accepted.json()).toMatchObject({
        status: 'accepted',
        decidedBy: 'operator',
        reasonCodes: ['OPERATOR_ACCEPTED'],
      });
      const entry = await auditEntry((accepted.json().receipt as { auditIndex: number }).auditIndex);
      expect(entry).toMatchObject({
        class: 'tender.reviewed',
        actor: { kind: 'operator', id: 'ops-console' },
        details: { reason: 'checked the El Paso route by hand', from: 'pending_review', to: 'accepted' },
      });
      const override = await decide({ decision: 'decline', reason: 'truck shortage on the lane' });
      expect(override.json()).toMatchObject({ status: 'declined' });
      expect(await auditEntry((override.json().receipt as { auditIndex: number }).auditIndex)).toMatchObject({
        class: 'tender.overridden',
      });
      const again = await decide({ decision: 'decline', reason: 'twice' });
      expect(again.status).toBe(409);
    });

    it('refuses mass assignment of status, rate, tenant and partner in every body', async () => {
      const id = (await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
      const cases: [string, 'acme-tms' | 'ops-console', unknown][] = [
        ['/v1/tenders', 'acme-tms', tender(ref(), { status: 'delivered' })],
        ['/v1/tenders', 'acme-tms', tender(ref(), { tenantId: 'globex' })],
        ['/v1/tenders', 'acme-tms', tender(ref(), { partnerId: 'globex-tms' })],
        ['/v1/tenders', 'acme-tms', tender(ref(), { rate: { amountCents: 1, currency: 'USD', paid: true } })],
        ['/v1/tenders', 'acme-tms', tender(ref(), { weightKg: '12000' })],
        [`/v1/tenders/${id}/cancel`, 'acme-tms', { status: 'cancelled' }],
        [
          `/v1/tenders/${id}/events`,
          'ops-console',
          { event: 'dispatched', vehicleId: 'TRK-001', tenantId: 'x' },
        ],
        [
          `/v1/review/tenders/${id}/decision`,
          'ops-console',
          { decision: 'accept', reason: 'r', status: 'accepted' },
        ],
      ];
      for (const [path, who, body] of cases) {
        const res = await api.call(who, 'POST', path, body);
        expect({ path, status: res.status, code: res.json().code }).toEqual({
          path,
          status: 400,
          code: 'REQUEST_INVALID',
        });
      }
      expect((await api.call('acme-tms', 'GET', `/v1/tenders/${id}`)).json().status).toBe('accepted');
    });

    it('serves its OpenAPI document', async () => {
      const res = await api.call('acme-tms', 'GET', '/openapi.json');
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ openapi: '3.1.0' });
    });
  });
}
