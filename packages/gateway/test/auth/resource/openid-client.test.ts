/**
 * The "done when", with openid-client (a certified OAuth client library) as the partner: it
 * discovers the authorization server from its issuer URL (RFC 8414), obtains a certificate-bound token
 * (tls_client_auth, RFC 8705) and a DPoP-bound token (RFC 9449, with the use_dpop_nonce retry it does by
 * itself), and calls the tender API with each. A stolen token replayed from another client certificate or
 * with another DPoP key is refused. The issuer is the control plane's real URL (a port picked up front).
 */
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../support/engines.ts';
import type { Credentials } from '../../support/harness.ts';
import { tenderBody } from './support/cases.ts';
import { type AuthTestGateway, send, startAuthGateway } from './support/gateway.ts';
import { freePort } from './support/oauth.ts';

/** fetch over mTLS with `creds` (undici, the engine behind Node's fetch). */
function mtlsFetch(creds: Credentials): client.CustomFetch {
  const dispatcher = new Agent({ connect: { cert: creds.chain, key: creds.key, ca: creds.ca } });
  return ((url: string, options: client.CustomFetchOptions) =>
    undiciFetch(url, { ...options, dispatcher } as Parameters<
      typeof undiciFetch
    >[1])) as unknown as client.CustomFetch;
}

/** What openid-client reports for a refused call: the challenge it parsed and the problem code. */
async function refusalOf(call: Promise<Response>) {
  try {
    await call;
  } catch (error) {
    const e = error as {
      code?: string;
      cause?: { scheme: string; parameters: { error?: string } }[];
      response?: Response;
    };
    expect(e.code).toBe('OAUTH_WWW_AUTHENTICATE_CHALLENGE');
    const challenge = e.cause?.find((c) => c.parameters.error !== undefined);
    const body = (await e.response?.json()) as { code: string } | undefined;
    return {
      status: e.response?.status,
      scheme: challenge?.scheme,
      error: challenge?.parameters.error,
      code: body?.code,
    };
  }
  throw new Error('the call was not refused');
}

for (const engine of engines()) {
  describe(`openid-client against fleetgate on ${engine.name}`, () => {
    let t: AuthTestGateway;
    let issuer: string;

    beforeAll(async () => {
      const port = await freePort();
      issuer = `https://localhost:${port}`;
      t = await startAuthGateway(engine, (config) => {
        config.listeners.controlPlane.port = port;
        config.auth.issuer = issuer;
      });
    });
    afterAll(async () => t?.stop());

    const configure = async (creds: Credentials): Promise<client.Configuration> => {
      const config = await client.discovery(new URL(issuer), 'acme-tms', undefined, client.TlsClientAuth(), {
        algorithm: 'oauth2',
        [client.customFetch]: mtlsFetch(creds),
      });
      return config;
    };
    const postTender = (config: client.Configuration, token: string, options?: client.DPoPOptions) =>
      client.fetchProtectedResource(
        config,
        token,
        new URL(`${issuer}/v1/tenders`),
        'POST',
        JSON.stringify(tenderBody(`OIDC-${randomUUID()}`)),
        new Headers({ 'content-type': 'application/json' }),
        options,
      );

    it('obtains a certificate-bound token and tenders with it; another certificate cannot use it', async () => {
      const config = await configure(t.partner('acme-tms'));
      const tokens = await client.clientCredentialsGrant(config, { scope: 'tenders:write tenders:read' });
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.refresh_token).toBeUndefined();
      const res = await postTender(config, tokens.access_token);
      expect(res.status).toBe(201);
      const created = (await res.json()) as { id: string; status: string };
      const read = await client.fetchProtectedResource(
        config,
        tokens.access_token,
        new URL(`${issuer}/v1/tenders/${created.id}`),
        'GET',
      );
      expect(read.status).toBe(200);

      // The token stolen and replayed from globex's certificate.
      const thief = await configure(t.partner('globex-tms'));
      expect(await refusalOf(postTender(thief, tokens.access_token))).toEqual({
        status: 401,
        scheme: 'bearer',
        error: 'invalid_token',
        code: 'AUTH_TOKEN_CLIENT_MISMATCH',
      });
    });

    it('obtains a DPoP-bound token and tenders with it; another DPoP key cannot use it', async () => {
      const config = await configure(t.partner('acme-tms'));
      const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
      const tokens = await client.clientCredentialsGrant(
        config,
        { scope: 'tenders:write tenders:read' },
        { DPoP: dpop },
      );
      expect(tokens.token_type.toLowerCase()).toBe('dpop');
      const res = await postTender(config, tokens.access_token, { DPoP: dpop });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { status: string }).status).toMatch(/accepted|declined/);
      // Several calls in a row: fresh proofs, the nonce kept by the client.
      for (let i = 0; i < 3; i += 1)
        expect((await postTender(config, tokens.access_token, { DPoP: dpop })).status).toBe(201);

      const thiefKey = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
      expect(await refusalOf(postTender(config, tokens.access_token, { DPoP: thiefKey }))).toEqual({
        status: 401,
        scheme: 'dpop',
        error: 'invalid_dpop_proof',
        code: 'AUTH_DPOP_KEY_MISMATCH',
      });
      expect(await refusalOf(postTender(config, tokens.access_token))).toEqual({
        status: 401,
        scheme: 'bearer',
        error: 'invalid_token',
        code: 'AUTH_TOKEN_REQUIRES_DPOP',
      });
      // The tender API still serves the rightful holder.
      const again = await send(`${issuer.replace('localhost', '127.0.0.1')}/v1/tenders/tnd_${randomUUID()}`, {
        creds: t.partner('acme-tms'),
        headers: {},
      });
      expect(again.json().code).toBe('AUTH_TOKEN_MISSING');
    });
  });
}
