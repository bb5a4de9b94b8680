/**
 * SECURITY-CHECKLIST "DPoP" at the token endpoint (RFC 9449 §4.3, §5, §8), with an injected clock: the
 * nonce flow (use_dpop_nonce + DPoP-Nonce, stale and forged nonces), jti replay, htm/htu (query and
 * fragment ignored), iat window, typ, symmetric or `none` alg, private key material in jwk, two DPoP
 * headers, a bad signature. Each refusal is 400 with the RFC 9449 error, a fleetgate code, an audit entry;
 * none counts as a failed client authentication; the gateway keeps serving.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../support/engines.ts';
import { startTestGateway, type TestGateway } from '../../support/harness.ts';
import {
  auditEntries,
  decodeJwtParts,
  dpopProof,
  ISSUER,
  jktOf,
  manualClock,
  p256Key,
  postForm,
  type SigningKey,
} from './support.ts';

const HTU = `${ISSUER}/oauth/token`;

for (const engine of engines()) {
  describe(`DPoP proofs at the token endpoint on ${engine.name}`, () => {
    let t: TestGateway;
    let key: SigningKey;
    const clock = manualClock();

    beforeAll(async () => {
      t = await startTestGateway(
        engine,
        (c) => {
          c.auth.rateLimits.perAddress = { burst: 1000, perSecond: 1000 };
          c.auth.rateLimits.perClient = { burst: 1000, perSecond: 1000 };
        },
        clock.now,
      );
      key = await p256Key();
    });
    afterAll(async () => t?.stop());

    const send = (dpop: string | string[] | undefined) => {
      const acme = t.partner('acme-tms');
      return postForm(`${t.url.control}/oauth/token`, {
        ca: acme.ca,
        cert: acme.chain,
        key: acme.key,
        form: { grant_type: 'client_credentials', client_id: 'acme-tms' },
        ...(dpop === undefined ? {} : { dpop }),
      });
    };
    const nonce = async (): Promise<string> => {
      const res = await send(await dpopProof(key, HTU, clock.now()));
      expect(res.json()).toMatchObject({ error: 'use_dpop_nonce', code: 'OAUTH_DPOP_NONCE_REQUIRED' });
      return res.headers['dpop-nonce'] as string;
    };

    async function expectInvalid(dpop: string | string[], reason: string) {
      const failuresBefore = (await auditEntries(t, 'auth.client.authentication_failed')).length;
      const res = await send(dpop);
      expect(res.status, reason).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_dpop_proof', code: 'OAUTH_DPOP_PROOF_INVALID' });
      const refused = await auditEntries(t, 'auth.token.request_refused');
      expect(refused.at(-1)).toMatchObject({ reasons: [reason], actor: { id: 'acme-tms' } });
      expect((await auditEntries(t, 'auth.client.authentication_failed')).length).toBe(failuresBefore);
    }

    it('runs the nonce flow, then binds the token to the proof key (cnf.jkt, token_type DPoP)', async () => {
      const n = await nonce();
      const res = await send(await dpopProof(key, HTU, clock.now(), { claims: { nonce: n } }));
      expect(res.status).toBe(200);
      expect(res.json().token_type).toBe('DPoP');
      const { claims } = decodeJwtParts(res.json().access_token as string);
      expect(claims.cnf).toEqual({ jkt: await jktOf(key) });
      // The fresh nonce of the success answer works for the next request.
      const next = res.headers['dpop-nonce'] as string;
      expect((await send(await dpopProof(key, HTU, clock.now(), { claims: { nonce: next } }))).status).toBe(
        200,
      );
    });

    it('refuses a forged nonce and one from two slots ago (injected clock) with use_dpop_nonce', async () => {
      const forged = await send(
        await dpopProof(key, HTU, clock.now(), { claims: { nonce: 'A'.repeat(30) } }),
      );
      expect(forged.json()).toMatchObject({ error: 'use_dpop_nonce' });
      expect(forged.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]{30}$/);
      const old = await nonce();
      clock.advance(121);
      const stale = await send(await dpopProof(key, HTU, clock.now(), { claims: { nonce: old } }));
      expect(stale.status).toBe(400);
      expect(stale.json()).toMatchObject({ error: 'use_dpop_nonce', code: 'OAUTH_DPOP_NONCE_REQUIRED' });
      const reasons = (await auditEntries(t, 'auth.token.request_refused')).map(
        (e) => (e.reasons as string[])[0],
      );
      expect(reasons).toEqual(expect.arrayContaining(['DPOP_NONCE_MISSING', 'DPOP_NONCE_STALE']));
    });

    it('refuses a replayed proof (jti seen for this key)', async () => {
      const n = await nonce();
      const proof = await dpopProof(key, HTU, clock.now(), { claims: { nonce: n } });
      expect((await send(proof)).status).toBe(200);
      await expectInvalid(proof, 'DPOP_REPLAYED');
    });

    it('checks htm and htu, ignoring query and fragment', async () => {
      const n = await nonce();
      await expectInvalid(
        await dpopProof(key, HTU, clock.now(), { method: 'GET', claims: { nonce: n } }),
        'DPOP_HTM',
      );
      await expectInvalid(
        await dpopProof(key, `${ISSUER}/v1/tenders`, clock.now(), { claims: { nonce: n } }),
        'DPOP_HTU',
      );
      await expectInvalid(
        await dpopProof(key, 'https://evil.example/oauth/token', clock.now(), { claims: { nonce: n } }),
        'DPOP_HTU',
      );
      const withQuery = await dpopProof(key, `${HTU}?a=1#frag`, clock.now(), { claims: { nonce: n } });
      expect((await send(withQuery)).status).toBe(200);
      // The URL the client actually used (Host header) is accepted too.
      const actual = `${t.url.control}/oauth/token`;
      expect((await send(await dpopProof(key, actual, clock.now(), { claims: { nonce: n } }))).status).toBe(
        200,
      );
    });

    it('refuses a stale or future iat beyond the window (injected clock)', async () => {
      const n = await nonce();
      const past = new Date(clock.now().getTime() - 120_000);
      await expectInvalid(await dpopProof(key, HTU, past, { claims: { nonce: n } }), 'DPOP_IAT_STALE');
      const future = new Date(clock.now().getTime() + 120_000);
      await expectInvalid(await dpopProof(key, HTU, future, { claims: { nonce: n } }), 'DPOP_IAT_FUTURE');
    });

    it('refuses typ other than dpop+jwt, symmetric and none algs, private key material, two headers, bad signatures', async () => {
      const n = await nonce();
      await expectInvalid(
        await dpopProof(key, HTU, clock.now(), { header: { typ: 'JWT' }, claims: { nonce: n } }),
        'DPOP_TYP',
      );
      const { kid: _k, alg: _a, use: _u, ...jwk } = key.publicJwk;
      const claims = {
        jti: randomUUID(),
        htm: 'POST',
        htu: HTU,
        iat: Math.floor(clock.now().getTime() / 1000),
        nonce: n,
      };
      const hs = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } } as {
          alg: string;
        })
        .sign(new TextEncoder().encode('secret'));
      await expectInvalid(hs, 'DPOP_ALG');
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      await expectInvalid(`${b64({ alg: 'none', typ: 'dpop+jwt', jwk })}.${b64(claims)}.`, 'DPOP_ALG');
      const privateJwk = await exportJWK(key.privateKey);
      await expectInvalid(
        await dpopProof(key, HTU, clock.now(), { header: { jwk: privateJwk }, claims: { nonce: n } }),
        'DPOP_PRIVATE_KEY',
      );
      const good = await dpopProof(key, HTU, clock.now(), { claims: { nonce: n } });
      await expectInvalid([good, good], 'DPOP_HEADER_COUNT');
      const other = await p256Key();
      const { kid: _k2, alg: _a2, use: _u2, ...otherJwk } = other.publicJwk;
      await expectInvalid(
        await dpopProof(key, HTU, clock.now(), { header: { jwk: otherJwk }, claims: { nonce: n } }),
        'DPOP_SIGNATURE',
      );
      await expectInvalid('garbage', 'DPOP_MALFORMED');
      await expectInvalid(
        await dpopProof(key, HTU, clock.now(), { claims: { nonce: n, pad: 'x'.repeat(9000) } }),
        'DPOP_TOO_LARGE',
      );
      await expectInvalid(
        await dpopProof(key, HTU, clock.now(), { claims: { nonce: n, jti: undefined } }),
        'DPOP_CLAIMS',
      );
    });

    it('keeps serving afterwards', async () => {
      const n = await nonce();
      expect((await send(await dpopProof(key, HTU, clock.now(), { claims: { nonce: n } }))).status).toBe(200);
      expect((await send(undefined)).status).toBe(200);
    });
  });
}
