/**
 * Client registration and key rotation against a real gateway on every store engine: what registration
 * refuses (private key material, symmetric or weak keys, unknown scopes, bad policies, CA certificates),
 * and rotation taking effect at the token endpoint — a private_key_jwt client's old key stops working and
 * the new one works; a tls_client_auth partner gets a new certificate from the CA, the old one is revoked
 * (superseded) and refused, the new one gets tokens — every step audited.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerClient, validateRegistration } from '../../../src/auth/server/register-client.ts';
import { rotateClientKeys } from '../../../src/auth/server/rotate-client-keys.ts';
import { loadIssuingCa } from '../../../src/pki/ca.ts';
import { engines } from '../../support/engines.ts';
import { startTestGateway, type TestGateway } from '../../support/harness.ts';
import { ASSERTION_TYPE, auditEntries, clientAssertion, p256Key, postForm } from './support.ts';

const OPERATOR = { kind: 'operator' as const, id: 'test' };

describe('client registration validation', () => {
  const now = new Date();
  const base = { clientId: 'x-tms', tenantId: 'x', authMethod: 'private_key_jwt' as const };

  it('refuses private keys, symmetric keys, RSA under 2048 bits and unknown algorithms', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const cases: Array<[unknown, RegExp]> = [
      [{ keys: [await exportJWK(ec.privateKey)] }, /private key material/],
      [{ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, /private key material|kty must be/],
      [{ keys: [{ ...(await exportJWK(rsa1024.publicKey)), alg: 'RS256' }] }, /2048 bits/],
      [{ keys: [{ ...(await exportJWK(ec.publicKey)), alg: 'HS256' }] }, /algorithm must be one of/],
      [{ keys: [{ ...(await exportJWK(ec.publicKey)), alg: 'none' }] }, /algorithm must be one of/],
      [{ keys: [] }, /1 to 10 keys/],
      [{ nokeys: true }, /"keys" array/],
      [{ keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] }, /not a usable/],
    ];
    for (const [jwks, message] of cases) {
      await expect(validateRegistration({ ...base, jwks }, now)).rejects.toThrow(message);
    }
    const ok = await validateRegistration({ ...base, jwks: { keys: [await exportJWK(ec.publicKey)] } }, now);
    expect(ok.jwks?.keys).toHaveLength(1);
  });

  it('refuses unknown scopes, bad lifetimes, bad policies, bad ids and a CA as a client certificate', async () => {
    const jwks = { keys: [await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)] };
    await expect(validateRegistration({ ...base, jwks, scopes: ['openid'] }, now)).rejects.toThrow(/scopes/);
    await expect(validateRegistration({ ...base, jwks, scopes: [] }, now)).rejects.toThrow(/scopes/);
    await expect(validateRegistration({ ...base, jwks, tokenLifetimeSeconds: 10 }, now)).rejects.toThrow(
      /lifetime/,
    );
    await expect(validateRegistration({ ...base, jwks, policy: { lanes: 'DAL-HOU' } }, now)).rejects.toThrow(
      /policy/,
    );
    await expect(
      validateRegistration(
        { ...base, jwks, policy: { timeWindows: [{ start: '22:00', end: '06:00', timeZone: 'X/Y' }] } },
        now,
      ),
    ).rejects.toThrow(/policy/);
    await expect(validateRegistration({ ...base, clientId: '../etc', jwks }, now)).rejects.toThrow(
      /client id/,
    );
    await expect(validateRegistration({ ...base, authMethod: 'tls_client_auth', jwks }, now)).rejects.toThrow(
      /takes no JWKS/,
    );
  });
});

for (const engine of engines()) {
  describe(`key rotation on ${engine.name}`, () => {
    let t: TestGateway;

    beforeAll(async () => {
      t = await startTestGateway(engine);
    });
    afterAll(async () => t?.stop());

    const deps = () => ({
      store: t.gateway.store,
      audit: t.gateway.audit,
      now: () => new Date(),
      dataDir: t.dataDir,
    });

    it('refuses a CA certificate for self_signed_tls_client_auth', async () => {
      const ca = await loadIssuingCa(t.dataDir);
      await expect(
        registerClient(
          deps(),
          {
            clientId: 'ca-tms',
            tenantId: 'x',
            authMethod: 'self_signed_tls_client_auth',
            certificatePem: ca.certificate.toString(),
          },
          OPERATOR,
        ),
      ).rejects.toThrow(/must not be a CA/);
    });

    it('private_key_jwt: after rotate-keys the old key is refused and the new one works', async () => {
      const oldKey = await p256Key('old');
      const newKey = await p256Key('new');
      await registerClient(
        deps(),
        {
          clientId: 'stranger-tms',
          tenantId: 'stranger',
          authMethod: 'private_key_jwt',
          jwks: { keys: [oldKey.publicJwk] },
        },
        OPERATOR,
      );
      const creds = t.partner('stranger-tms');
      const send = async (key: typeof oldKey) =>
        postForm(`${t.url.control}/oauth/token`, {
          ca: creds.ca,
          cert: creds.chain,
          key: creds.key,
          form: {
            grant_type: 'client_credentials',
            client_assertion_type: ASSERTION_TYPE,
            client_assertion: await clientAssertion(key, 'stranger-tms', new Date()),
          },
        });
      expect((await send(oldKey)).status).toBe(200);
      await rotateClientKeys(deps(), 'stranger-tms', { jwks: { keys: [newKey.publicJwk] } }, OPERATOR);
      expect((await send(oldKey)).status).toBe(401);
      expect((await send(newKey)).status).toBe(200);
      await expect(
        rotateClientKeys(deps(), 'stranger-tms', { jwks: { keys: [{ kty: 'oct', k: 'AA' }] } }, OPERATOR),
      ).rejects.toThrow(/private key material|kty/);
    });

    it('tls_client_auth: a new certificate from the CA, the old one revoked and refused', async () => {
      const oldCreds = t.partner('globex-tms');
      const token = (creds: { ca: string; chain: string; key: string }) =>
        postForm(`${t.url.control}/oauth/token`, {
          ca: creds.ca,
          cert: creds.chain,
          key: creds.key,
          form: { grant_type: 'client_credentials', client_id: 'globex-tms' },
        });
      expect((await token(oldCreds)).status).toBe(200);
      const result = await rotateClientKeys(deps(), 'globex-tms', {}, OPERATOR);
      expect(result.previous?.revoked).toBe(true);
      const dir = join(t.dataDir, 'pki', 'partners', 'globex-tms');
      const newCreds = {
        ca: oldCreds.ca,
        chain: readFileSync(join(dir, 'chain.pem'), 'utf8'),
        key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      };
      expect(newCreds.chain).not.toBe(oldCreds.chain);
      expect((await token(newCreds)).status).toBe(200);
      // The superseded certificate is refused (revocation enforcement: closed connection or 401).
      await vi.waitFor(
        async () => {
          const outcome = await token(oldCreds).then(
            (r) => r.status,
            () => 'refused',
          );
          expect(outcome).not.toBe(200);
        },
        { timeout: 5000, interval: 250 },
      );
      const classes = (await auditEntries(t, 'auth.client.keys_rotated')).map(
        (e) => (e.subject as { id: string }).id,
      );
      expect(classes).toEqual(expect.arrayContaining(['stranger-tms', 'globex-tms']));
      const revoked = await auditEntries(t, 'pki.certificate.revoked');
      expect(revoked.length).toBeGreaterThanOrEqual(1);
      const issued = await auditEntries(t, 'pki.certificate.issued');
      expect(issued.at(-1)).toMatchObject({
        details: { certificateKind: 'partner', subjectId: 'globex-tms' },
      });
    });
  });
}
