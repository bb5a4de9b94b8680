/**
 * SECURITY-CHECKLIST "JWT / OAuth", resource side, against a real gateway on every engine: each hostile
 * token refused with its WWW-Authenticate error (RFC 6750 §3.1), its problem+json code and an audit entry,
 * the gateway serving on after each; time cases with the gateway's clock moved (injected `now`); the
 * certificate binding (RFC 8705 §3) checked against the connection; suspension and revocation seen
 * within the 1 s cache; scopes per route.
 */
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIssuingCa } from '../../../src/pki/ca.ts';
import { issuePartnerCertificate } from '../../../src/pki/issue.ts';
import { engines } from '../../support/engines.ts';
import type { Credentials } from '../../support/harness.ts';
import { challenges, type Expected, expectRefused, expectServing, tenderBody } from './support/cases.ts';
import { type AuthTestGateway, send, startAuthGateway } from './support/gateway.ts';
import { b64u, certThumbprint, publicJwk, signRaw, tokenClaims, unsignedToken } from './support/mint.ts';

const notFoundPath = () => `/v1/tenders/tnd_${randomUUID()}`;

for (const engine of engines()) {
  describe(`resource server: access tokens on ${engine.name}`, () => {
    let t: AuthTestGateway;
    let acme: Credentials;
    let x5t: string;
    let trapHits = 0;
    const trap = createServer((_req, res) => {
      trapHits += 1;
      res.end('{}');
    });

    beforeAll(async () => {
      t = await startAuthGateway(engine);
      acme = t.partner('acme-tms');
      x5t = certThumbprint(acme.cert);
      await new Promise<void>((done) => trap.listen(0, '127.0.0.1', done));
    });
    afterAll(async () => {
      await new Promise<void>((done) => trap.close(() => done()));
      await t?.stop();
    });

    const bound = () => ({ cnf: { 'x5t#S256': x5t } });
    const call = (
      authorization: string | string[] | undefined,
      creds: Credentials = acme,
      path = notFoundPath(),
    ) =>
      send(`${t.url.control}${path}`, {
        creds,
        headers: authorization === undefined ? {} : { authorization },
      });
    async function refused(
      authorization: string | string[] | undefined,
      expected: Expected,
      creds?: Credentials,
    ) {
      const from = await t.auditSize();
      const res = await call(authorization, creds);
      await expectRefused(t, res, expected, from);
      return res;
    }
    const invalidToken = (code: string): Expected => ({
      status: 401,
      code,
      error: 'invalid_token',
      scheme: 'Bearer',
    });

    it('accepts a certificate-bound token and answers a missing one with both challenges', async () => {
      await expectServing(t);
      const res = await refused(undefined, { status: 401, code: 'AUTH_TOKEN_MISSING', error: null });
      const www = challenges(res);
      expect(www).toContain('Bearer realm="fleetgate"');
      expect(www.find((c) => c.startsWith('DPoP realm="fleetgate", algs="'))).toMatch(/ES256/);
      expect(www.join()).not.toMatch(/error=/);
    });

    it('refuses alg none and HS256 keyed with the public key', async () => {
      const claims = tokenClaims(bound());
      await refused(
        `Bearer ${unsignedToken({ alg: 'none', typ: 'at+jwt' }, claims)}`,
        invalidToken('AUTH_TOKEN_ALGORITHM'),
      );
      const pem = t.signing.publicKey.export({ format: 'pem', type: 'spki' }) as string;
      const jwk = JSON.stringify(await publicJwk(t.signing));
      for (const secret of [pem, jwk]) {
        const input = `${b64u({ alg: 'HS256', typ: 'at+jwt', kid: t.signing.kid })}.${b64u(claims)}`;
        const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
        await refused(`Bearer ${token}`, invalidToken('AUTH_TOKEN_ALGORITHM'));
      }
      await expectServing(t);
    });

    it('refuses a kid with ../ and never fetches jku, x5u or jwk', async () => {
      for (const kid of ['../../pki/oauth/signing-key.pem', '../dpop-nonce.key']) {
        const { token } = await t.token({ ...bound(), header: { kid } });
        await refused(`Bearer ${token}`, invalidToken('AUTH_TOKEN_HEADER'));
      }
      const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/jwks.json`;
      const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const attackerKey = { ...attacker, kid: 'attacker' };
      for (const header of [{ jku: trapUrl }, { x5u: trapUrl }, { jwk: await publicJwk(attackerKey) }]) {
        const token = signRaw(
          attackerKey,
          { alg: 'ES256', typ: 'at+jwt', kid: 'attacker', ...header },
          tokenClaims(bound()),
        );
        await refused(`Bearer ${token}`, invalidToken('AUTH_TOKEN_HEADER'));
      }
      expect(trapHits).toBe(0);
      await expectServing(t);
    });

    it('refuses exp past and nbf/iat in the future beyond the skew (gateway clock moved)', async () => {
      const { token } = await t.token({ ...bound(), lifetimeSeconds: 300 });
      // Margins of 20 s or more on each side of the 30 s skew, so a slow machine cannot blur the edges.
      try {
        t.shiftClock((300 + 60) * 1000);
        await refused(`Bearer ${token}`, invalidToken('AUTH_TOKEN_EXPIRED'));
        t.shiftClock((300 + 10) * 1000); // past exp, within the skew: accepted
        expect((await call(`Bearer ${token}`)).status).toBe(404);
        t.shiftClock(-60_000);
        await refused(`Bearer ${token}`, invalidToken('AUTH_TOKEN_NOT_YET_VALID'));
        t.shiftClock(-10_000); // before nbf, within the skew: accepted
        expect((await call(`Bearer ${token}`)).status).toBe(404);
      } finally {
        t.shiftClock(0);
      }
      const now = Math.floor(Date.now() / 1000);
      const futureIat = await t.token({ ...bound(), claims: { iat: now + 120, nbf: now } });
      await refused(`Bearer ${futureIat.token}`, invalidToken('AUTH_TOKEN_NOT_YET_VALID'));
      await expectServing(t);
    });

    it('refuses a wrong or missing iss or aud, an unknown crit, and a token over 8 KiB', async () => {
      for (const [spec, code] of [
        [{ claims: { iss: 'https://evil.example' } }, 'AUTH_TOKEN_ISSUER'],
        [{ omit: ['iss'] }, 'AUTH_TOKEN_ISSUER'],
        [{ claims: { aud: 'urn:fleetgate:telemetry' } }, 'AUTH_TOKEN_AUDIENCE'],
        [{ omit: ['aud'] }, 'AUTH_TOKEN_AUDIENCE'],
      ] as const) {
        const { token } = await t.token({ ...bound(), ...spec });
        await refused(`Bearer ${token}`, invalidToken(code));
      }
      const crit = signRaw(
        t.signing,
        { alg: 'ES256', typ: 'at+jwt', kid: t.signing.kid, crit: ['urn:x:critical'], 'urn:x:critical': true },
        tokenClaims(bound()),
      );
      await refused(`Bearer ${crit}`, invalidToken('AUTH_TOKEN_HEADER'));
      const big = await t.token({ ...bound(), claims: { pad: 'x'.repeat(8_300) } });
      await refused(`Bearer ${big.token}`, invalidToken('AUTH_TOKEN_TOO_LARGE'));
      await refused('Basic YWNtZTpzZWNyZXQ=', invalidToken('AUTH_TOKEN_MALFORMED'));
      await refused([`Bearer ${big.token.slice(0, 40)}`, 'Bearer x'], invalidToken('AUTH_TOKEN_MALFORMED'));
      await expectServing(t);
    });

    it('refuses a DPoP-bound token sent as Bearer (RFC 9449 §7.1)', async () => {
      const { token } = await t.token({ cnf: { jkt: 'A'.repeat(43) } });
      const res = await refused(`Bearer ${token}`, invalidToken('AUTH_TOKEN_REQUIRES_DPOP'));
      expect(challenges(res).some((c) => c.startsWith('DPoP '))).toBe(true);
      expect(res.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('refuses a certificate-bound token from another certificate (stolen token)', async () => {
      const { token } = await t.token(bound());
      // The same partner's second certificate (another key): cnf.x5t#S256 does not match.
      const ca = await loadIssuingCa(t.dataDir);
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const second = await issuePartnerCertificate(ca, { partnerId: 'acme-tms', publicKey: key });
      const other: Credentials = {
        cert: second.certificatePem,
        chain: second.chainPem,
        key: key.export({ format: 'pem', type: 'pkcs8' }) as string,
        ca: acme.ca,
      };
      await refused(`Bearer ${token}`, invalidToken('AUTH_TOKEN_CERT_MISMATCH'), other);
      // Another partner's certificate: the token was issued to someone else.
      await refused(`Bearer ${token}`, invalidToken('AUTH_TOKEN_CLIENT_MISMATCH'), t.partner('globex-tms'));
      // A vehicle certificate never gets that far.
      await refused(
        `Bearer ${token}`,
        { status: 403, code: 'AUTH_IDENTITY_NOT_ALLOWED', error: null },
        t.vehicle('TRK-001'),
      );
      await expectServing(t);
    });

    it('requires the route scope: tenders:write to create, tenders:read to read', async () => {
      const readOnly = await t.token({ ...bound(), scope: 'tenders:read' });
      const from = await t.auditSize();
      const res = await send(`${t.url.control}/v1/tenders`, {
        creds: acme,
        headers: { authorization: `Bearer ${readOnly.token}` },
        body: JSON.stringify(tenderBody(`SCOPE-${randomUUID()}`)),
      });
      await expectRefused(
        t,
        res,
        { status: 403, code: 'AUTH_SCOPE_INSUFFICIENT', error: 'insufficient_scope' },
        from,
      );
      expect(challenges(res).join()).toContain('scope="tenders:write"');
      const writeOnly = await t.token({ ...bound(), scope: 'tenders:write' });
      await refused(`Bearer ${writeOnly.token}`, {
        status: 403,
        code: 'AUTH_SCOPE_INSUFFICIENT',
        error: 'insufficient_scope',
      });
      // A scope in the token that the client no longer holds counts for nothing.
      const admin = await t.token({ ...bound(), scope: 'admin' });
      await refused(`Bearer ${admin.token}`, {
        status: 403,
        code: 'AUTH_SCOPE_INSUFFICIENT',
        error: 'insufficient_scope',
      });
      const write = await t.token(bound());
      const created = await send(`${t.url.control}/v1/tenders`, {
        creds: acme,
        headers: { authorization: `Bearer ${write.token}` },
        body: JSON.stringify(tenderBody(`SCOPE-${randomUUID()}`)),
      });
      expect(created.status).toBe(201);
    });

    it('refuses revoked, never-issued and other-tenant tokens, and a suspended client within a second', async () => {
      const never = await t.token(bound(), false);
      await refused(`Bearer ${never.token}`, invalidToken('AUTH_TOKEN_REVOKED'));
      const tenant = await t.token({ ...bound(), tenant: 'globex' });
      await refused(`Bearer ${tenant.token}`, invalidToken('AUTH_TOKEN_CLAIMS'));

      const revoked = await t.token(bound());
      expect((await call(`Bearer ${revoked.token}`)).status).toBe(404);
      await t.gateway.store.query('UPDATE oauth_tokens SET revoked_at = now() WHERE jti = $1', [revoked.jti]);
      await new Promise((done) => setTimeout(done, 1_100)); // the cache holds answers for at most 1 s
      await refused(`Bearer ${revoked.token}`, invalidToken('AUTH_TOKEN_REVOKED'));

      const live = await t.token(bound());
      expect((await call(`Bearer ${live.token}`)).status).toBe(404);
      await t.gateway.store.query(
        "UPDATE oauth_clients SET status = 'suspended', suspended_at = now() WHERE client_id = 'acme-tms'",
      );
      try {
        await new Promise((done) => setTimeout(done, 1_100));
        await refused(`Bearer ${live.token}`, invalidToken('AUTH_TOKEN_CLIENT_SUSPENDED'));
      } finally {
        await t.gateway.store.query(
          "UPDATE oauth_clients SET status = 'active', suspended_at = NULL WHERE client_id = 'acme-tms'",
        );
      }
      await new Promise((done) => setTimeout(done, 1_100));
      await expectServing(t);
      expect((await fetch(`${t.url.ops}/healthz`)).status).toBe(200);
    });
  });
}
