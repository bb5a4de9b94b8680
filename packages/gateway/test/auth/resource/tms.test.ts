/**
 * The simulated TMS (packages/sim) against a real gateway: it obtains a DPoP-bound token by default (with
 * the use_dpop_nonce flow at the token endpoint and the tender API) or a certificate-bound one, tenders
 * with it, refreshes it before it expires (both clocks moved past 80% of the lifetime), and recovers
 * from a revoked token by obtaining a new one.
 */
import { TmsClient } from '@fleetgate/sim/tms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../support/engines.ts';
import { tenderBody } from './support/cases.ts';
import { type AuthTestGateway, startAuthGateway } from './support/gateway.ts';

for (const engine of engines()) {
  describe(`simulated TMS on ${engine.name}`, () => {
    let t: AuthTestGateway;
    let clientOffset = 0;
    const clientNow = () => Date.now() + clientOffset;

    beforeAll(async () => {
      t = await startAuthGateway(engine);
    });
    afterAll(async () => t?.stop());

    const client = (binding?: 'dpop' | 'mtls') => {
      const p = t.partner('acme-tms');
      return new TmsClient(
        t.url.control.replace('127.0.0.1', 'localhost'),
        { cert: p.chain, key: p.key, ca: p.ca },
        { now: clientNow, ...(binding === undefined ? {} : { binding }) },
      );
    };
    const seen = new Set<string>();
    /** The bindings of the tokens issued since the last call. */
    const newTokens = async () => {
      const rows = await t.gateway.store.query<{ jti: string; binding: string }>(
        "SELECT jti, binding FROM oauth_tokens WHERE client_id = 'acme-tms'",
      );
      const fresh = rows.filter((r) => !seen.has(r.jti));
      for (const r of fresh) seen.add(r.jti);
      return fresh;
    };

    it('tenders with a DPoP-bound token by default and refreshes it before expiry', async () => {
      const tms = client();
      try {
        const first = await tms.postTender(tenderBody(`TMS-${Date.now()}-1`) as never);
        expect(first.status, JSON.stringify(first.body)).toBe(201);
        expect(tms.tokens.tokensObtained).toBe(1);
        expect((await newTokens()).map((r) => r.binding)).toEqual(['dpop']);
        expect((await tms.getTender(first.body.id as string)).status).toBe(200);
        expect(tms.tokens.tokensObtained).toBe(1);
        // 250 s later (the token lives 300 s): still valid, but past 80% — the client gets a new one first.
        clientOffset = 250_000;
        t.shiftClock(250_000);
        const second = await tms.postTender(tenderBody(`TMS-${Date.now()}-2`) as never);
        expect(second.status, JSON.stringify(second.body)).toBe(201);
        expect(tms.tokens.tokensObtained).toBe(2);
        expect((await newTokens()).map((r) => r.binding)).toEqual(['dpop']);
      } finally {
        clientOffset = 0;
        t.shiftClock(0);
        tms.close();
      }
    });

    it('tenders with a certificate-bound token on request, and replaces a revoked one', async () => {
      const tms = client('mtls');
      try {
        expect((await tms.postTender(tenderBody(`TMS-${Date.now()}-3`) as never)).status).toBe(201);
        const [issued] = await newTokens();
        expect(issued?.binding).toBe('mtls');
        await t.gateway.store.query('UPDATE oauth_tokens SET revoked_at = now() WHERE jti = $1', [
          issued?.jti ?? '',
        ]);
        await new Promise((done) => setTimeout(done, 1_100));
        const after = await tms.postTender(tenderBody(`TMS-${Date.now()}-4`) as never);
        expect(after.status, JSON.stringify(after.body)).toBe(201);
        expect(tms.tokens.tokensObtained).toBe(2);
        expect((await newTokens()).map((r) => r.binding)).toEqual(['mtls']);
      } finally {
        tms.close();
      }
    });
  });
}
