/**
 * Introspection (RFC 7662), revocation (RFC 7009) and suspension on every store engine, with an
 * injected clock: only authenticated clients, each only about its own tokens (anything else is
 * `active: false` / a 200 that changes nothing); a revoked jti and a suspended client's tokens stop
 * working at once — at introspection and at the tender API (the resource server reads the store).
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { purgeExpired } from '../../../src/auth/server/purge.ts';
import { suspendClient } from '../../../src/auth/server/suspend-client.ts';
import { engines } from '../../support/engines.ts';
import { startTestGateway, type TestGateway } from '../../support/harness.ts';
import { auditEntries, decodeJwtParts, ISSUER, manualClock, postForm } from './support.ts';

for (const engine of engines()) {
  describe(`introspection, revocation and suspension on ${engine.name}`, () => {
    let t: TestGateway;
    const clock = manualClock();

    beforeAll(async () => {
      t = await startTestGateway(engine, undefined, clock.now);
    });
    afterAll(async () => t?.stop());

    const tls = (id: string) => {
      const c = t.partner(id);
      return { ca: c.ca, cert: c.chain, key: c.key };
    };
    const getToken = async (id: string): Promise<string> => {
      const res = await postForm(`${t.url.control}/oauth/token`, {
        ...tls(id),
        form: { grant_type: 'client_credentials', client_id: id },
      });
      expect(res.status).toBe(200);
      return res.json().access_token as string;
    };
    const introspect = (as: string, token: string) =>
      postForm(`${t.url.control}/oauth/introspect`, { ...tls(as), form: { client_id: as, token } });
    const revoke = (as: string, token: string) =>
      postForm(`${t.url.control}/oauth/revoke`, {
        ...tls(as),
        form: { client_id: as, token, token_type_hint: 'access_token' },
      });
    const tender = (as: string, token: string, reference: string) => {
      const start = new Date(clock.now().getTime() + 6 * 3_600_000);
      return postForm(`${t.url.control}/v1/tenders`, {
        ...tls(as),
        contentType: 'application/json',
        headers: { authorization: `Bearer ${token}` },
        form: JSON.stringify({
          reference,
          origin: 'Dallas, TX',
          destination: 'Houston, TX',
          equipment: 'dry_van',
          weightKg: 12_000,
          hazmat: false,
          pickupWindow: {
            start: start.toISOString(),
            end: new Date(start.getTime() + 4 * 3_600_000).toISOString(),
          },
          deliverBy: new Date(start.getTime() + 20 * 3_600_000).toISOString(),
        }),
      });
    };

    it('introspects a client’s own live token with the claims a resource server needs', async () => {
      const token = await getToken('acme-tms');
      const res = await introspect('acme-tms', token);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const claims = decodeJwtParts(token).claims;
      expect(res.json()).toEqual({
        active: true,
        scope: 'tenders:write tenders:read tracking:read',
        client_id: 'acme-tms',
        sub: 'acme-tms',
        aud: 'urn:fleetgate:control-plane',
        iss: ISSUER,
        exp: claims.exp,
        iat: claims.iat,
        nbf: claims.nbf,
        jti: claims.jti,
        token_type: 'Bearer',
        tenant: 'acme',
        cnf: claims.cnf,
      });
    });

    it('answers active:false for another client’s token, a forged one, garbage and an expired one', async () => {
      const acme = await getToken('acme-tms');
      const globex = await getToken('globex-tms');
      expect((await introspect('acme-tms', globex)).json()).toEqual({ active: false });
      expect((await introspect('globex-tms', acme)).json()).toEqual({ active: false });
      const forged = await new SignJWT(decodeJwtParts(acme).claims)
        .setProtectedHeader({ ...decodeJwtParts(acme).header, alg: 'ES256' } as { alg: string })
        .sign(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
      expect((await introspect('acme-tms', forged)).json()).toEqual({ active: false });
      expect((await introspect('acme-tms', 'garbage')).json()).toEqual({ active: false });
      const big = await introspect('acme-tms', 'a'.repeat(8193));
      expect(big.json()).toMatchObject({ error: 'invalid_request', code: 'OAUTH_INVALID_REQUEST' });
      const missing = await postForm(`${t.url.control}/oauth/introspect`, {
        ...tls('acme-tms'),
        form: { client_id: 'acme-tms' },
      });
      expect(missing.json()).toMatchObject({ error: 'invalid_request' });
      clock.advance(301);
      expect((await introspect('acme-tms', acme)).json()).toEqual({ active: false });
    });

    it('requires client authentication to introspect or revoke', async () => {
      const acme = await getToken('acme-tms');
      const anonymous = await postForm(`${t.url.control}/oauth/introspect`, {
        ...tls('acme-tms'),
        form: { token: acme },
      });
      expect(anonymous.json()).toMatchObject({ error: 'invalid_request' });
      const wrongCert = await postForm(`${t.url.control}/oauth/introspect`, {
        ...tls('globex-tms'),
        form: { client_id: 'acme-tms', token: acme },
      });
      expect(wrongCert.status).toBe(401);
      expect(wrongCert.json()).toMatchObject({ error: 'invalid_client' });
      const revokeWrong = await postForm(`${t.url.control}/oauth/revoke`, {
        ...tls('globex-tms'),
        form: { client_id: 'acme-tms', token: acme },
      });
      expect(revokeWrong.status).toBe(401);
      expect((await introspect('acme-tms', acme)).json().active).toBe(true);
    });

    it('revokes only the caller’s own token; the revoked jti is refused by introspection and the tender API', async () => {
      const token = await getToken('acme-tms');
      expect((await tender('acme-tms', token, 'REV-1')).status).toBe(201);
      const byOther = await revoke('globex-tms', token);
      expect(byOther.status).toBe(200);
      expect((await introspect('acme-tms', token)).json().active).toBe(true);
      const mine = await revoke('acme-tms', token);
      expect(mine.status).toBe(200);
      expect(mine.text).toBe('');
      expect((await introspect('acme-tms', token)).json()).toEqual({ active: false });
      const { jti } = decodeJwtParts(token).claims;
      const revoked = await auditEntries(t, 'auth.token.revoked');
      expect(revoked.at(-1)).toMatchObject({
        subject: { kind: 'access-token', id: jti },
        actor: { id: 'acme-tms' },
      });
      expect(revoked.filter((e) => (e.subject as { id: string }).id === jti)).toHaveLength(1);
      // Idempotent, and unknown tokens answer 200 too (RFC 7009 §2.2).
      expect((await revoke('acme-tms', token)).status).toBe(200);
      expect((await revoke('acme-tms', 'not-a-token')).status).toBe(200);
      // Resource servers cache a jti's state for at most 1 s.
      await vi.waitFor(
        async () => {
          const refused = await tender('acme-tms', token, `REV-${Math.random()}`);
          expect(refused.status).toBe(401);
          expect(refused.headers['www-authenticate']).toMatch(/invalid_token/);
        },
        { timeout: 5000, interval: 250 },
      );
    });

    it('suspension revokes every live token of the partner at once and refuses new ones', async () => {
      const first = await getToken('globex-tms');
      const second = await getToken('globex-tms');
      expect((await tender('globex-tms', first, 'SUS-1')).status).toBe(201);
      const other = await getToken('acme-tms');
      const result = await suspendClient(
        { store: t.gateway.store, audit: t.gateway.audit, now: clock.now },
        'globex-tms',
        { kind: 'operator', id: 'test' },
      );
      expect(result.alreadySuspended).toBe(false);
      expect(result.revokedTokens).toBeGreaterThanOrEqual(2);
      const rows = await t.gateway.store.query<{ n: string }>(
        `SELECT count(*)::int8 AS n FROM oauth_tokens WHERE client_id = 'globex-tms' AND revoked_at IS NULL AND expires_at > $1`,
        [clock.now()],
      );
      expect(Number(rows[0]?.n)).toBe(0);
      // Resource servers cache a client's status for at most 1 s.
      await vi.waitFor(
        async () => {
          for (const token of [first, second]) {
            const res = await tender('globex-tms', token, `SUS-${Math.random()}`);
            expect(res.status).toBe(401);
          }
        },
        { timeout: 5000, interval: 250 },
      );
      const again = await postForm(`${t.url.control}/oauth/token`, {
        ...tls('globex-tms'),
        form: { grant_type: 'client_credentials', client_id: 'globex-tms' },
      });
      expect(again.status).toBe(400);
      expect(again.json()).toMatchObject({ error: 'unauthorized_client', code: 'OAUTH_CLIENT_SUSPENDED' });
      const audit = await auditEntries(t, 'auth.client.suspended');
      expect(audit.at(-1)).toMatchObject({
        subject: { kind: 'oauth-client', id: 'globex-tms' },
        actor: { kind: 'operator', id: 'test' },
        details: { revokedTokens: result.revokedTokens, alreadySuspended: false },
      });
      // Another partner is untouched.
      expect((await introspect('acme-tms', other)).json().active).toBe(true);
      const twice = await suspendClient(
        { store: t.gateway.store, audit: t.gateway.audit, now: clock.now },
        'globex-tms',
        { kind: 'operator', id: 'test' },
      );
      expect(twice).toEqual({ alreadySuspended: true, revokedTokens: 0 });
    });

    it('purges token records a day after they expire, and nothing live', async () => {
      const live = await getToken('acme-tms');
      const count = async () =>
        Number(
          (await t.gateway.store.query<{ n: string }>('SELECT count(*)::int8 AS n FROM oauth_tokens'))[0]?.n,
        );
      const before = await count();
      await purgeExpired(t.gateway.store, clock.now());
      expect(await count()).toBe(before);
      await purgeExpired(t.gateway.store, new Date(clock.now().getTime() + 2 * 86_400_000));
      expect(await count()).toBe(0);
      expect(live.length).toBeGreaterThan(0);
    });
  });
}
