/**
 * SECURITY-CHECKLIST "JWT / OAuth" for the authorization server's client assertions (RFC 7523
 * private_key_jwt), with an injected clock for every time case: each mutation is refused with 401
 * `invalid_client` / OAUTH_INVALID_CLIENT, audited with its own reason, and the gateway keeps serving.
 * The client ("stranger-tms", a partner certificate the config does not list) is registered for
 * private_key_jwt, so its certificate only carries the connection and the assertion authenticates.
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClient } from '../../../src/auth/server/register-client.ts';
import { startGateway } from '../../../src/gateway.ts';
import { engines } from '../../support/engines.ts';
import { startTestGateway, type TestGateway } from '../../support/harness.ts';
import {
  ASSERTION_TYPE,
  auditEntries,
  clientAssertion,
  decodeJwtParts,
  ISSUER,
  manualClock,
  p256Key,
  postForm,
  type SigningKey,
} from './support.ts';

const CLIENT = 'stranger-tms';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

for (const engine of engines()) {
  describe(`client assertions (private_key_jwt) on ${engine.name}`, () => {
    let t: TestGateway;
    let key: SigningKey;
    const clock = manualClock();

    beforeAll(async () => {
      t = await startTestGateway(
        engine,
        (c) => {
          // These tests fail on purpose many times: keep the lockout out of the way (abuse.test.ts tests it).
          c.auth.lockout.threshold = 1000;
          c.auth.rateLimits.perAddress = { burst: 1000, perSecond: 1000 };
          c.auth.rateLimits.perClient = { burst: 1000, perSecond: 1000 };
        },
        clock.now,
      );
      key = await p256Key('k1');
      await registerClient(
        { store: t.gateway.store, audit: t.gateway.audit, now: clock.now },
        {
          clientId: CLIENT,
          tenantId: 'stranger',
          authMethod: 'private_key_jwt',
          jwks: { keys: [key.publicJwk] },
        },
        { kind: 'operator', id: 'test' },
      );
    });
    afterAll(async () => t?.stop());

    const send = (form: Record<string, string>) => {
      const creds = t.partner(CLIENT);
      return postForm(`${t.url.control}/oauth/token`, {
        ca: creds.ca,
        cert: creds.chain,
        key: creds.key,
        form: { grant_type: 'client_credentials', ...form },
      });
    };
    const withAssertion = (assertion: string) =>
      send({ client_assertion_type: ASSERTION_TYPE, client_assertion: assertion });

    async function expectRefused(assertion: string, reason: string) {
      const before = (await auditEntries(t, 'auth.client.authentication_failed')).length;
      const res = await withAssertion(assertion);
      expect(res.status, reason).toBe(401);
      expect(res.json()).toMatchObject({ error: 'invalid_client', code: 'OAUTH_INVALID_CLIENT' });
      const entries = await auditEntries(t, 'auth.client.authentication_failed');
      expect(entries.length).toBe(before + 1);
      expect(entries.at(-1)).toMatchObject({ reasons: [reason], outcome: 'rejected' });
    }

    it('accepts a good assertion (the baseline every mutation below departs from)', async () => {
      const res = await withAssertion(await clientAssertion(key, CLIENT, clock.now()));
      expect(res.status).toBe(200);
      expect(decodeJwtParts(res.json().access_token as string).claims.client_id).toBe(CLIENT);
    });

    it('refuses alg none and HS256 keyed with the registered public key', async () => {
      const t0 = Math.floor(clock.now().getTime() / 1000);
      const claims = { iss: CLIENT, sub: CLIENT, aud: ISSUER, jti: randomUUID(), exp: t0 + 60 };
      await expectRefused(`${b64({ alg: 'none' })}.${b64(claims)}.`, 'ASSERTION_ALG');
      const publicPem = createPublicKey(key.privateKey).export({ format: 'pem', type: 'spki' }) as string;
      for (const secret of [publicPem, JSON.stringify(key.publicJwk)]) {
        const hs = await new SignJWT({ ...claims, jti: randomUUID() })
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .sign(new TextEncoder().encode(secret));
        await expectRefused(hs, 'ASSERTION_ALG');
      }
    });

    it('refuses jku, x5u, jwk and x5c headers without fetching or trusting them', async () => {
      const attacker = await p256Key('k1');
      const { kid: _k, alg: _a, use: _u, ...attackerJwk } = attacker.publicJwk;
      for (const header of [
        { jku: 'https://127.0.0.1:1/jwks.json' },
        { x5u: 'https://127.0.0.1:1/cert.pem' },
        { jwk: attackerJwk },
        { x5c: ['MIIB'] },
      ]) {
        await expectRefused(
          await clientAssertion(attacker, CLIENT, clock.now(), { header }),
          'ASSERTION_HEADER',
        );
      }
    });

    it('refuses a kid with ../ or unknown, and a signature by another key', async () => {
      await expectRefused(
        await clientAssertion({ ...key, kid: '../../pki/oauth/signing-key' }, CLIENT, clock.now()),
        'ASSERTION_KEY_UNKNOWN',
      );
      const other = await p256Key('k1');
      await expectRefused(await clientAssertion(other, CLIENT, clock.now()), 'ASSERTION_SIGNATURE');
    });

    it('refuses an expired assertion and one not yet valid, beyond the 30 s skew (injected clock)', async () => {
      const made = clock.now();
      const assertion = await clientAssertion(key, CLIENT, made, {
        claims: { exp: Math.floor(made.getTime() / 1000) + 60 },
      });
      clock.advance(60 + 31);
      await expectRefused(assertion, 'ASSERTION_EXPIRED');
      // Within the skew an assertion just past exp still counts (clocks differ): not refused as expired.
      const edge = await clientAssertion(key, CLIENT, clock.now(), {
        claims: { exp: Math.floor(clock.now().getTime() / 1000) - 20 },
      });
      expect((await withAssertion(edge)).status).toBe(200);
      const future = new Date(clock.now().getTime() + 120_000);
      await expectRefused(await clientAssertion(key, CLIENT, future), 'ASSERTION_NOT_YET_VALID');
      const nbf = Math.floor(clock.now().getTime() / 1000) + 120;
      await expectRefused(
        await clientAssertion(key, CLIENT, clock.now(), { claims: { nbf } }),
        'ASSERTION_NOT_YET_VALID',
      );
    });

    it('refuses an assertion that lives longer than auth.assertionMaxLifetimeSeconds', async () => {
      const exp = Math.floor(clock.now().getTime() / 1000) + 3600;
      await expectRefused(
        await clientAssertion(key, CLIENT, clock.now(), { claims: { exp } }),
        'ASSERTION_LIFETIME',
      );
    });

    it('refuses a wrong or missing aud, and iss/sub that are not the client', async () => {
      await expectRefused(
        await clientAssertion(key, CLIENT, clock.now(), { claims: { aud: 'https://other-as.example' } }),
        'ASSERTION_AUDIENCE',
      );
      await expectRefused(
        await clientAssertion(key, CLIENT, clock.now(), {
          claims: { aud: `https://127.0.0.1:${t.gateway.addresses.controlPlane.port}` },
        }),
        'ASSERTION_AUDIENCE',
      );
      await expectRefused(
        await clientAssertion(key, CLIENT, clock.now(), { claims: { aud: undefined } }),
        'ASSERTION_AUDIENCE',
      );
      await expectRefused(
        await clientAssertion(key, CLIENT, clock.now(), { claims: { sub: 'acme-tms' } }),
        'ASSERTION_ISSUER',
      );
      // The token endpoint URL is an accepted audience too (RFC 7523 §3).
      const ok = await clientAssertion(key, CLIENT, clock.now(), {
        claims: { aud: `${ISSUER}/oauth/token` },
      });
      expect((await withAssertion(ok)).status).toBe(200);
    });

    it('refuses a replayed assertion jti, and missing jti or exp', async () => {
      const once = await clientAssertion(key, CLIENT, clock.now());
      expect((await withAssertion(once)).status).toBe(200);
      await expectRefused(once, 'ASSERTION_REPLAYED');
      await expectRefused(
        await clientAssertion(key, CLIENT, clock.now(), { claims: { jti: undefined } }),
        'ASSERTION_CLAIMS',
      );
      await expectRefused(
        await clientAssertion(key, CLIENT, clock.now(), { claims: { exp: undefined } }),
        'ASSERTION_CLAIMS',
      );
    });

    it('refuses an assertion over 8 KiB before parsing it, and garbage', async () => {
      const big = await clientAssertion(key, CLIENT, clock.now(), { claims: { pad: 'x'.repeat(9000) } });
      expect(big.length).toBeGreaterThan(8192);
      await expectRefused(big, 'ASSERTION_TOO_LARGE');
      await expectRefused('not.a.jwt', 'ASSERTION_MALFORMED');
      await expectRefused(
        `${b64({ alg: 'ES256', crit: ['exp'], exp: 1 })}.${b64({ iss: CLIENT })}.AAAA`,
        'ASSERTION_MALFORMED',
      );
    });

    it('refuses a client_id that is not the assertion issuer, a wrong assertion type, and method downgrades', async () => {
      const assertion = await clientAssertion(key, CLIENT, clock.now());
      const mismatch = await send({
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: assertion,
        client_id: 'acme-tms',
      });
      expect(mismatch.json()).toMatchObject({ error: 'invalid_client' });
      const wrongType = await send({ client_assertion_type: 'urn:x', client_assertion: assertion });
      expect(wrongType.json()).toMatchObject({ error: 'invalid_request', code: 'OAUTH_INVALID_REQUEST' });
      // A private_key_jwt client may not fall back to its certificate…
      const viaCert = await send({ client_id: CLIENT });
      expect(viaCert.status).toBe(401);
      // …and a tls_client_auth client may not present an assertion instead of its certificate.
      const acmeKey = await p256Key('k1');
      const acme = t.partner('acme-tms');
      const res = await postForm(`${t.url.control}/oauth/token`, {
        ca: acme.ca,
        cert: acme.chain,
        key: acme.key,
        form: {
          grant_type: 'client_credentials',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await clientAssertion(acmeKey, 'acme-tms', clock.now()),
        },
      });
      expect(res.status).toBe(401);
      const reasons = (await auditEntries(t, 'auth.client.authentication_failed')).map(
        (e) => (e.reasons as string[])[0],
      );
      expect(reasons.filter((r) => r === 'METHOD_MISMATCH')).toHaveLength(2);
      expect(reasons).toContain('CLIENT_ID_MISMATCH');
    });

    it.runIf(engine.name === 'postgres')(
      'refuses an assertion replayed to a second gateway node on the same PostgreSQL store',
      async () => {
        const config = structuredClone(t.gateway.config);
        for (const l of Object.values(config.listeners)) l.port = 0;
        const second = await startGateway({
          dataDir: t.dataDir,
          config,
          logger: pino({ level: 'silent' }),
          now: clock.now,
          ...(t.postgresSchema === undefined ? {} : { postgresSchema: t.postgresSchema }),
        });
        try {
          const once = await clientAssertion(key, CLIENT, clock.now());
          expect((await withAssertion(once)).status).toBe(200);
          const creds = t.partner(CLIENT);
          const replay = await postForm(
            `https://127.0.0.1:${second.addresses.controlPlane.port}/oauth/token`,
            {
              ca: creds.ca,
              cert: creds.chain,
              key: creds.key,
              form: {
                grant_type: 'client_credentials',
                client_assertion_type: ASSERTION_TYPE,
                client_assertion: once,
              },
            },
          );
          expect(replay.status).toBe(401);
          expect(replay.json()).toMatchObject({ error: 'invalid_client' });
          const fresh = await postForm(
            `https://127.0.0.1:${second.addresses.controlPlane.port}/oauth/token`,
            {
              ca: creds.ca,
              cert: creds.chain,
              key: creds.key,
              form: {
                grant_type: 'client_credentials',
                client_assertion_type: ASSERTION_TYPE,
                client_assertion: await clientAssertion(key, CLIENT, clock.now()),
              },
            },
          );
          expect(fresh.status).toBe(200);
        } finally {
          await second.close();
        }
      },
    );

    it('still serves after every refusal', async () => {
      const res = await withAssertion(await clientAssertion(key, CLIENT, clock.now()));
      expect(res.status).toBe(200);
    });
  });
}
