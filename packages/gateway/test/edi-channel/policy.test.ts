/**
 * A 204 outside the partner's client policy (auth/policy: lanes, equipment, time windows) is refused
 * exactly as a REST tender would be — no tender, an `auth.policy.refused` audit entry with the policy
 * code, and a 990 declining it with that code — on every engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import type { TenderApi } from '../tendering/support.ts';
import { bodyOf, nextIcn, outboundText, outbox, segment, startEdiApi, tender204, upload } from './support.ts';

for (const engine of engines()) {
  describe(`EDI tenders under the client's policy on ${engine.name}`, () => {
    let api: TenderApi;

    beforeAll(async () => {
      api = await startEdiApi(engine);
      // acme may only tender on Fort Worth–El Paso: the 204 builder's load is Dallas → Houston.
      await api.t.gateway.store.query("UPDATE oauth_clients SET policy = $1 WHERE client_id = 'acme-tms'", [
        JSON.stringify({ lanes: ['FTW-ELP'] }),
      ]);
    });
    afterAll(async () => {
      await api?.stop();
    });

    it('refuses the set with the policy code, audits it and declines it in a 990', async () => {
      const shipmentId = `SH-POLICY-${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
      const res = await upload(api, 'acme-tms', tender204({ shipmentId, icn: nextIcn() }));
      expect(res.status, res.text).toBe(200);
      const set = (res.json() as { sets: { outcome: string; tenderId: string | null; reasons: string[] }[] })
        .sets[0];
      expect(set).toMatchObject({ outcome: 'refused', tenderId: null, reasons: ['AUTH_POLICY_LANE'] });

      const [tenders] = await api.t.gateway.store.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM tenders WHERE reference = $1',
        [shipmentId],
      );
      expect(tenders?.n).toBe(0);
      const audited = await api.t.gateway.store.query<{ entry: string }>(
        "SELECT entry FROM audit_entries WHERE entry LIKE '%auth.policy.refused%' ORDER BY idx DESC LIMIT 1",
      );
      expect(JSON.parse(audited[0]?.entry ?? '{}')).toMatchObject({
        class: 'auth.policy.refused',
        actor: { kind: 'partner', id: 'acme-tms' },
        reasons: ['AUTH_POLICY_LANE'],
      });

      const responses = (await outbox(api, 'acme-tms')).filter((i) => i.type === '990');
      const texts = await Promise.all(responses.map((i) => outboundText(api, 'acme-tms', i.id)));
      const b1 = texts.map((t) => segment(bodyOf(t).segments, 'B1')).find((s) => s[1] === shipmentId);
      expect(b1?.[3]).toBe('D');
    });
  });
}
