/**
 * Interoperability with openid-client (a certified OAuth client library) as a real peer, on every store
 * engine: RFC 8414 discovery from the issuer URL, then both kinds of bound token —
 *   tls_client_auth over the partner certificate → certificate-bound (cnf.x5t#S256, token_type Bearer);
 *   private_key_jwt + a DPoP key (openid-client runs the use_dpop_nonce retry itself) → DPoP-bound
 *   (cnf.jkt, token_type DPoP);
 * and introspection and revocation with the library's own requests. The control plane's port is picked
 * before the gateway starts so the issuer (auth.issuer) is the URL the client really talks to.
 */
import { createServer } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClient } from '../../../src/auth/server/register-client.ts';
import { engines } from '../../support/engines.ts';
import { startTestGateway, type TestGateway } from '../../support/harness.ts';
import { decodeJwtParts } from './support.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** openid-client's fetch over undici with the partner certificate (mutual TLS) and our CA. */
function mtlsFetch(creds: { ca: string; chain: string; key: string }): client.CustomFetch {
  const dispatcher = new Agent({ connect: { ca: creds.ca, cert: creds.chain, key: creds.key } });
  return ((url: string, options: client.CustomFetchOptions) =>
    undiciFetch(url, { ...options, dispatcher } as Parameters<
      typeof undiciFetch
    >[1])) as unknown as client.CustomFetch;
}

for (const engine of engines()) {
  describe(`openid-client against the authorization server on ${engine.name}`, () => {
    let t: TestGateway;
    let issuer: string;

    beforeAll(async () => {
      const port = await freePort();
      issuer = `https://localhost:${port}`;
      t = await startTestGateway(engine, (c) => {
        c.listeners.controlPlane.port = port;
        c.auth.issuer = issuer;
      });
    });
    afterAll(async () => t?.stop());

    it('tls_client_auth: discovers, gets a certificate-bound token, introspects and revokes it', async () => {
      const acme = t.partner('acme-tms');
      const config = await client.discovery(new URL(issuer), 'acme-tms', undefined, client.TlsClientAuth(), {
        algorithm: 'oauth2',
        [client.customFetch]: mtlsFetch(acme),
      });
      expect(config.serverMetadata().token_endpoint).toBe(`${issuer}/oauth/token`);
      const tokens = await client.clientCredentialsGrant(config, { scope: 'tenders:write' });
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe('tenders:write');
      expect(tokens.expires_in).toBe(300);
      const { claims } = decodeJwtParts(tokens.access_token);
      expect(claims).toMatchObject({ iss: issuer, client_id: 'acme-tms', tenant: 'acme' });
      expect(claims.cnf).toHaveProperty('x5t#S256');
      const active = await client.tokenIntrospection(config, tokens.access_token);
      expect(active).toMatchObject({ active: true, client_id: 'acme-tms', token_type: 'Bearer' });
      await client.tokenRevocation(config, tokens.access_token);
      expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    });

    it('private_key_jwt + DPoP: a DPoP-bound token after the nonce round trip', async () => {
      // "stranger-tms" has a fleetgate certificate but is not in the config: register it for private_key_jwt.
      const assertionKeys = await generateKeyPair('ES256', { extractable: true });
      await registerClient(
        { store: t.gateway.store, audit: t.gateway.audit, now: () => new Date() },
        {
          clientId: 'stranger-tms',
          tenantId: 'stranger',
          authMethod: 'private_key_jwt',
          jwks: { keys: [{ ...(await exportJWK(assertionKeys.publicKey)), kid: 'a1', alg: 'ES256' }] },
        },
        { kind: 'operator', id: 'test' },
      );
      const config = await client.discovery(
        new URL(issuer),
        'stranger-tms',
        undefined,
        client.PrivateKeyJwt({ key: assertionKeys.privateKey, kid: 'a1' }),
        { algorithm: 'oauth2', [client.customFetch]: mtlsFetch(t.partner('stranger-tms')) },
      );
      const dpopKeys = await client.randomDPoPKeyPair('ES256');
      const DPoP = client.getDPoPHandle(config, dpopKeys);
      const tokens = await client.clientCredentialsGrant(config, { scope: 'tenders:read' }, { DPoP });
      expect(tokens.token_type).toBe('dpop');
      const { claims } = decodeJwtParts(tokens.access_token);
      const { calculateJwkThumbprint } = await import('jose');
      expect(claims.cnf).toEqual({ jkt: await calculateJwkThumbprint(await exportJWK(dpopKeys.publicKey)) });
      expect(claims).toMatchObject({ client_id: 'stranger-tms', tenant: 'stranger', scope: 'tenders:read' });
      const active = await client.tokenIntrospection(config, tokens.access_token);
      expect(active).toMatchObject({ active: true, token_type: 'DPoP', cnf: claims.cnf });
    });
  });
}
