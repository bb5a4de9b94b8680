/**
 * Tenant isolation (OWASP API1, BOLA) and tracking, against a real gateway on every engine.
 *  - Partner B cannot read, cancel or track partner A's tender by id: 404 TENDER_NOT_FOUND, the same
 *    answer as for an id that never existed, and A's tender is unchanged.
 *  - Row-level security holds below the API: under the application role without `app.tenant` the tenant
 *    tables show nothing, another tenant's rows are invisible, and a write for another tenant is refused.
 *  - Tracking: positions only from verified (signed, accepted) telemetry of the dispatched truck for the
 *    load, and an ETA from the remaining distance; a batch for another load does not show.
 */
import { randomUUID } from 'node:crypto';
import { DrivingState, encodeBatch } from '@fleetgate/protocol/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutScope, withTenant } from '../../src/tendering/tenant-scope.ts';
import { engines } from '../support/engines.ts';
import { envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTenderApi, type TenderApi, tender } from './support.ts';

const ref = () => `PO-${randomUUID().slice(0, 8)}`;

for (const engine of engines()) {
  describe(`tenant isolation and tracking on ${engine.name}`, () => {
    let api: TenderApi;
    let acmeTender: string;

    beforeAll(async () => {
      api = await startTenderApi(engine, (config) => {
        config.tenderEngine.fleetSize = 1000;
      });
      acmeTender = (await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
    });
    afterAll(async () => {
      await api?.stop();
    });

    it("answers another partner's tender exactly like a missing one: read, cancel, track", async () => {
      const missing = `tnd_${randomUUID()}`;
      const strip = (text: string) => {
        const { instance: _instance, ...rest } = JSON.parse(text) as Record<string, unknown>;
        return rest;
      };
      for (const [method, suffix, body] of [
        ['GET', '', undefined],
        ['POST', '/cancel', {}],
      ] as const) {
        const theirs = await api.call('globex-tms', method, `/v1/tenders/${acmeTender}${suffix}`, body);
        const none = await api.call('globex-tms', method, `/v1/tenders/${missing}${suffix}`, body);
        expect(theirs.status).toBe(404);
        expect(strip(theirs.text)).toEqual(strip(none.text));
        expect(strip(theirs.text)).toMatchObject({ code: 'TENDER_NOT_FOUND' });
      }
      const track = await api.call('globex-tms', 'GET', `/v1/loads/${acmeTender}/tracking`);
      expect({ status: track.status, code: track.json().code }).toEqual({
        status: 404,
        code: 'TENDER_NOT_FOUND',
      });
      const list = await api.call('globex-tms', 'GET', '/v1/tenders?limit=100');
      expect((list.json().items as { id: string }[]).map((i) => i.id)).not.toContain(acmeTender);
      expect((await api.call('acme-tms', 'GET', `/v1/tenders/${acmeTender}`)).json().status).toBe('accepted');
    });

    it('row-level security: no tenant setting → nothing; another tenant → nothing; foreign writes refused', async () => {
      const { store } = api.t.gateway;
      for (const table of ['tenders', 'tender_status_history', 'idempotency_keys']) {
        const [row] = await withoutScope(store, (tx) =>
          tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`),
        );
        expect({ table, n: row?.n }).toEqual({ table, n: '0' });
      }
      // The rows exist (seen by the owner connection, which the policies do not bind here).
      const [all] = await store.query<{ n: string }>('SELECT count(*) AS n FROM tenders WHERE id = $1', [
        acmeTender,
      ]);
      expect(all?.n).toBe('1');
      const seen = await withTenant(store, 'globex', (tx) =>
        tx.query('SELECT id FROM tenders WHERE id = $1', [acmeTender]),
      );
      expect(seen).toEqual([]);
      const changed = await withTenant(store, 'globex', (tx) =>
        tx.query(`UPDATE tenders SET status = 'cancelled' WHERE id = $1 RETURNING id`, [acmeTender]),
      );
      expect(changed).toEqual([]);
      await expect(
        withTenant(store, 'globex', (tx) =>
          tx.query(
            `INSERT INTO tender_status_history (tender_id, seq, tenant_id, to_status, event, actor_kind, actor_id,
               occurred_at, recorded_at, audit_index) VALUES ($1, 99, 'acme', 'cancelled', 'x', 'system', 'x', now(), now(), 0)`,
            [acmeTender],
          ),
        ),
      ).rejects.toThrow(/row-level security/);
      const own = await withTenant(store, 'acme', (tx) =>
        tx.query('SELECT id FROM tenders WHERE id = $1', [acmeTender]),
      );
      expect(own).toHaveLength(1);
    });

    it('tracks a dispatched load from verified telemetry, with an ETA from the remaining distance', async () => {
      const id = (await api.call('acme-tms', 'POST', '/v1/tenders', tender(ref()))).json().id as string;
      const before = await api.call('acme-tms', 'GET', `/v1/loads/${id}/tracking`);
      expect(before.json()).toMatchObject({
        status: 'accepted',
        positions: [],
        eta: { basis: 'plan', remainingKm: 385 },
      });
      const dispatch = await api.call('ops-console', 'POST', `/v1/tenders/${id}/events`, {
        event: 'dispatched',
        vehicleId: 'TRK-003',
        loadId: 'LOAD-77',
      });
      expect(dispatch.status, dispatch.text).toBe(200);
      const creds = api.t.vehicle('TRK-003');
      const signer = signerFromPem(creds.key);
      const now = Date.now() + 1000;
      const batch = (loadId: string, odometerStart: number, first: bigint) =>
        encodeBatch({
          vehicleId: 'TRK-003',
          loadId,
          firstSequence: first,
          sentAtUnixMs: BigInt(now),
          records: [0, 1].map((i) => ({
            timeUnixMs: BigInt(now + i * 1000),
            latitude: 32.7 - i * 0.01,
            longitude: -96.8 + i * 0.01,
            speedMps: 25,
            headingDeg: 160,
            odometerM: odometerStart + i * 100_000,
            drivingState: DrivingState.AUTONOMOUS,
            faults: [],
          })),
        });
      const post = (body: Uint8Array) =>
        httpsRequest(`${api.t.url.telemetry}/v1/telemetry`, {
          ca: creds.ca,
          cert: creds.chain,
          key: creds.key,
          body,
          contentType: 'application/x-protobuf',
        });
      expect((await post(envelopeBytes(signer, 1n, batch('LOAD-77', 5_000_000, 1n)))).status).toBe(202);
      // Another load of the same truck, and a batch whose signature does not verify: neither shows.
      expect((await post(envelopeBytes(signer, 2n, batch('LOAD-OTHER', 9_000_000, 3n)))).status).toBe(202);
      const forged = envelopeBytes(signer, 3n, batch('LOAD-77', 9_900_000, 5n), {
        signature: (sig) => sig.map((b, i) => (i === 0 ? b ^ 1 : b)),
      });
      expect((await post(forged)).status).toBe(400);
      const res = await api.call('acme-tms', 'GET', `/v1/loads/${id}/tracking`);
      expect(res.status, res.text).toBe(200);
      const tracking = res.json() as {
        vehicleId: string;
        positions: { latitude: number }[];
        eta: { basis: string; remainingKm: number; at: string };
        history: { to: string }[];
      };
      expect(tracking.vehicleId).toBe('TRK-003');
      expect(tracking.positions).toHaveLength(2);
      expect(tracking.positions[0]?.latitude).toBeCloseTo(32.69);
      // 100 km travelled on odometer of the 385 km lane: 285 km at 80 km/h after the latest position.
      expect(tracking.eta.basis).toBe('telemetry');
      expect(tracking.eta.remainingKm).toBe(285);
      expect(Date.parse(tracking.eta.at)).toBe(now + 1000 + (285 / 80) * 3_600_000);
      expect(tracking.history.map((h) => h.to)).toEqual(['received', 'accepted', 'dispatched']);
    });
  });
}
