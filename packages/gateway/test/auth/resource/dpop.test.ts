/**
 * SECURITY-CHECKLIST "DPoP", resource side (RFC 9449 §4.3, §7.1, §9), against a real gateway on every
 * engine: the use_dpop_nonce flow, then each hostile proof refused with `invalid_dpop_proof` /
 * `use_dpop_nonce` in a DPoP challenge, its problem+json code and an audit entry, the gateway serving on.
 * On PostgreSQL a second gateway node shares the store: a proof accepted by one is a replay on the other.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../../src/gateway.ts';
import { engines } from '../../support/engines.ts';
import type { Credentials } from '../../support/harness.ts';
import { challenges, type Expected, expectRefused, expectServing, tenderBody } from './support/cases.ts';
import { type Answer, type AuthTestGateway, send, startAuthGateway } from './support/gateway.ts';
import { b64u, type DpopKey, dpopKey, dpopProof, type ProofSpec } from './support/mint.ts';

for (const engine of engines()) {
  describe(`resource server: DPoP on ${engine.name}`, () => {
    let t: AuthTestGateway;
    let acme: Credentials;
    let key: DpopKey;
    let nonce: string | undefined;

    beforeAll(async () => {
      t = await startAuthGateway(engine);
      acme = t.partner('acme-tms');
      key = await dpopKey();
    });
    afterAll(async () => t?.stop());

    const path = () => `/v1/tenders/tnd_${randomUUID()}`;
    const dpopToken = async (k: DpopKey = key) => (await t.token({ cnf: { jkt: k.jkt } })).token;
    /** A GET with `DPoP <token>` and the given proof header(s). */
    const call = async (
      token: string,
      proof: string | string[] | undefined,
      p = path(),
      base = t.url.control,
    ) => {
      const res = await send(`${base}${p}`, {
        creds: acme,
        headers: { authorization: `DPoP ${token}`, ...(proof === undefined ? {} : { dpop: proof }) },
      });
      // Every DPoP answer carries the current nonce: keep it, as a client does (RFC 9449 §8.2).
      const fresh = res.headers['dpop-nonce'];
      if (typeof fresh === 'string' && nonce !== undefined) nonce = fresh;
      return res;
    };
    const proofFor = (token: string, p: string, over: Partial<ProofSpec> = {}, k: DpopKey = key) =>
      dpopProof(k, { htm: 'GET', htu: `${t.url.control}${p}`, accessToken: token, nonce, ...over });
    const invalidProof = (code: string): Expected => ({
      status: 401,
      code,
      error: 'invalid_dpop_proof',
      scheme: 'DPoP',
    });
    async function refused(
      token: string,
      proof: string | string[] | undefined,
      p: string,
      expected: Expected,
    ) {
      const from = await t.auditSize();
      const res = await call(token, proof, p);
      await expectRefused(t, res, expected, from);
      return res;
    }
    const accepted = (res: Answer) =>
      expect({ status: res.status, code: res.json().code }).toEqual({
        status: 404,
        code: 'TENDER_NOT_FOUND',
      });

    it('answers a proof without nonce with use_dpop_nonce and a DPoP-Nonce, then accepts the retry', async () => {
      const token = await dpopToken();
      const p = path();
      const first = await refused(
        token,
        await dpopProof(key, { htm: 'GET', htu: `${t.url.control}${p}`, accessToken: token }),
        p,
        {
          status: 401,
          code: 'AUTH_DPOP_NONCE_REQUIRED',
          error: 'use_dpop_nonce',
          scheme: 'DPoP',
        },
      );
      nonce = first.headers['dpop-nonce'] as string;
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(challenges(first)[0]).toMatch(
        /^DPoP realm="fleetgate", algs="[^"]*ES256[^"]*", error="use_dpop_nonce"/,
      );
      const retry = await call(token, await proofFor(token, p), p);
      accepted(retry);
      expect(retry.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      // A forged nonce is no nonce.
      await refused(token, await proofFor(token, p, { nonce: 'A'.repeat(30) }), p, {
        status: 401,
        code: 'AUTH_DPOP_NONCE_REQUIRED',
        error: 'use_dpop_nonce',
      });
    });

    it('creates a tender with a DPoP-bound token (POST, htm/htu of the POST)', async () => {
      const token = await dpopToken();
      const proof = await dpopProof(key, {
        htm: 'POST',
        htu: `${t.url.control}/v1/tenders`,
        accessToken: token,
        nonce,
      });
      const res = await send(`${t.url.control}/v1/tenders`, {
        creds: acme,
        headers: { authorization: `DPoP ${token}`, dpop: proof },
        body: JSON.stringify(tenderBody(`DPOP-${randomUUID()}`)),
      });
      expect(res.status).toBe(201);
    });

    it('refuses a replayed proof (jti)', async () => {
      const token = await dpopToken();
      const p = path();
      const proof = await proofFor(token, p);
      accepted(await call(token, proof, p));
      await refused(token, proof, p, invalidProof('AUTH_DPOP_REPLAYED'));
    });

    it('refuses htm and htu mismatches, ignoring query and fragment', async () => {
      const token = await dpopToken();
      const p = path();
      await refused(
        token,
        await proofFor(token, p, { htm: 'POST' }),
        p,
        invalidProof('AUTH_DPOP_PROOF_MISMATCH'),
      );
      await refused(
        token,
        await proofFor(token, p, { htu: `${t.url.control}/v1/tenders` }),
        p,
        invalidProof('AUTH_DPOP_PROOF_MISMATCH'),
      );
      await refused(
        token,
        await proofFor(token, p, { htu: `https://evil.example${p}` }),
        p,
        invalidProof('AUTH_DPOP_PROOF_MISMATCH'),
      );
      const q = `${p}?page=2`;
      accepted(await call(token, await proofFor(token, p, { htu: `${t.url.control}${p}#frag` }), q));
    });

    it('refuses a stale or future iat (gateway clock moved)', async () => {
      const token = await dpopToken();
      const p = path();
      t.shiftClock(60_000 + 30_000 + 5_000);
      try {
        // A nonce of the gateway's (moved) time, and a proof made by the client's real clock: 95 s old.
        const probe = await call(token, await proofFor(token, p, { nonce: undefined }), p);
        const shiftedNonce = probe.headers['dpop-nonce'] as string;
        await refused(
          token,
          await proofFor(token, p, { nonce: shiftedNonce }),
          p,
          invalidProof('AUTH_DPOP_PROOF_STALE'),
        );
      } finally {
        t.shiftClock(0);
      }
      // Back on the real clock: the nonce kept above belongs to a future slot; get a current one.
      nonce = (await call(token, await proofFor(token, p, { nonce: undefined }), p)).headers[
        'dpop-nonce'
      ] as string;
      const now = Math.floor(Date.now() / 1000);
      await refused(
        token,
        await proofFor(token, p, { iat: now - 60 - 40 }),
        p,
        invalidProof('AUTH_DPOP_PROOF_STALE'),
      );
      await refused(
        token,
        await proofFor(token, p, { iat: now + 60 }),
        p,
        invalidProof('AUTH_DPOP_PROOF_STALE'),
      );
    });

    it('refuses an ath mismatch, a wrong typ, private key material, a symmetric alg and two DPoP headers', async () => {
      const token = await dpopToken();
      const p = path();
      await refused(
        token,
        await proofFor(token, p, { accessToken: await dpopToken() }),
        p,
        invalidProof('AUTH_DPOP_ATH_MISMATCH'),
      );
      await refused(
        token,
        await proofFor(token, p, { header: { typ: 'JWT' } }),
        p,
        invalidProof('AUTH_DPOP_PROOF_INVALID'),
      );
      const privateJwk = await exportJWK(key.privateKey);
      await refused(
        token,
        await proofFor(token, p, { header: { jwk: privateJwk } }),
        p,
        invalidProof('AUTH_DPOP_PROOF_INVALID'),
      );
      const secret = randomBytes(32);
      const input = `${b64u({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: secret.toString('base64url') } })}.${b64u(
        {
          jti: randomUUID(),
          htm: 'GET',
          htu: `${t.url.control}${p}`,
          iat: Math.floor(Date.now() / 1000),
          nonce,
        },
      )}`;
      const hs256 = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      await refused(token, hs256, p, invalidProof('AUTH_DPOP_PROOF_INVALID'));
      const two = [await proofFor(token, p), await proofFor(token, p)];
      await refused(token, two, p, invalidProof('AUTH_DPOP_PROOF_INVALID'));
      await refused(token, undefined, p, invalidProof('AUTH_DPOP_PROOF_INVALID'));
      await expectServing(t);
    });

    it('refuses a proof whose key is not cnf.jkt (token stolen, used with the thief key)', async () => {
      const token = await dpopToken();
      const thief = await dpopKey();
      const p = path();
      await refused(token, await proofFor(token, p, {}, thief), p, invalidProof('AUTH_DPOP_KEY_MISMATCH'));
      // A certificate-bound token under the DPoP scheme has no key to match either.
      const certBound = (await t.token({ cnf: { 'x5t#S256': 'A'.repeat(43) } })).token;
      await refused(certBound, await proofFor(certBound, p), p, invalidProof('AUTH_DPOP_KEY_MISMATCH'));
      await expectServing(t);
    });

    it.runIf(engine.name === 'postgres')(
      'refuses on node B a proof already accepted by node A (shared store)',
      async () => {
        const [row] = await t.gateway.store.query<{ schema: string }>('SELECT current_schema() AS schema');
        const config = structuredClone(t.gateway.config);
        for (const l of Object.values(config.listeners)) l.port = 0;
        const nodeB: Gateway = await startGateway({
          dataDir: t.dataDir,
          config,
          logger: t.gateway.logger,
          postgresSchema: row?.schema as string,
        });
        try {
          const token = await dpopToken();
          const p = path();
          const proof = await proofFor(token, p);
          accepted(await call(token, proof, p));
          const urlB = `https://127.0.0.1:${nodeB.addresses.controlPlane.port}`;
          // htu names node A; node B is reached at another port, so present the proof there with node A's
          // URI as the Host (same origin behind a load balancer).
          const res = await send(`${urlB}${p}`, {
            creds: acme,
            headers: {
              host: new URL(t.url.control).host,
              authorization: `DPoP ${token}`,
              dpop: proof,
            },
          });
          expect({ status: res.status, code: res.json().code }).toEqual({
            status: 401,
            code: 'AUTH_DPOP_REPLAYED',
          });
          // Node B accepts node A's nonce for a fresh proof.
          const fresh = await proofFor(token, p);
          const ok = await send(`${urlB}${p}`, {
            creds: acme,
            headers: { host: new URL(t.url.control).host, authorization: `DPoP ${token}`, dpop: fresh },
          });
          expect(ok.status).toBe(404);
        } finally {
          await nodeB.close();
        }
      },
    );
  });
}
